//! Lets binaries and test executables find libtorch at run time without LD_LIBRARY_PATH. The one build
//! script of the packages that link libtorch: si-cli and si-experiments name this file in their manifests.
//!
//! torch-sys exports the folder of the libtorch libraries as `DEP_TCH_LIBTORCH_LIB` to packages that
//! depend on it directly. We write it as an rpath and link `libtorch` with `--no-as-needed`, so that
//! `libtorch_cuda.so` stays loaded where there is a GPU (otherwise CUDA looks unavailable).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    // Absent where the package is built without libtorch (si-experiments without its `nn` feature).
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath={lib}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
