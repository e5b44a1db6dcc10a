//! Lets binaries and test executables find libtorch at run time without LD_LIBRARY_PATH.
//!
//! torch-sys exports the folder of the libtorch libraries as `DEP_TCH_LIBTORCH_LIB` to packages that
//! depend on it directly. We write it as an rpath and link `libtorch` with `--no-as-needed`, so that
//! `libtorch_cuda.so` stays loaded where there is a GPU (otherwise CUDA looks unavailable).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath={lib}");
    }
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
