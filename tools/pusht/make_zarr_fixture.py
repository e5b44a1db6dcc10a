"""Writes a small replay buffer in the layout of Diffusion Policy's Push-T data (`pusht_cchi_v7_replay.zarr`).

A zarr v2 directory store with
* `data/state`  [50, 5] float32, chunks (16, 5), Blosc zstd + bit shuffle (the published file's compressor);
* `data/action` [50, 2] float32, chunks (40, 1), Blosc lz4 + byte shuffle (numcodecs' default Blosc);
* `data/n_contacts` [50, 1] float32, an array the reader ignores (the published file has more of them);
* `meta/episode_ends` [3] int64 = (12, 31, 50), chunks (2,), Blosc lz4 without shuffle (Diffusion Policy's
  `ReplayBuffer` default);

so that every array spans several chunks, the last ones partial. The values are arithmetic sequences that
`crates/si-pusht/tests/zarr.rs` recomputes: for row i (float32 arithmetic),
    state[i]  = (100 + i, 200 + 2 i, 300 + 0.5 i, 400 − 0.25 i, float32(0.1) · i)
    action[i] = (1000 + 3 i, 2000 − 2 i)
    n_contacts[i] = i mod 3.
Usage (a throwaway virtual environment; zarr is not a dependency of the project; numcodecs 0.16 removed a
function that zarr 2.18 imports, hence 0.15):

    python3 -m venv /tmp/zarr-venv
    /tmp/zarr-venv/bin/pip install zarr==2.18.3 numcodecs==0.15.1 numpy==2.4.6
    /tmp/zarr-venv/bin/python tools/pusht/make_zarr_fixture.py crates/si-pusht/tests/data/pusht_small_replay.zarr
"""

import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import zarr
from numcodecs import Blosc

N = 50
EPISODE_ENDS = [12, 31, 50]


def values():
    i = np.arange(N, dtype=np.float32)
    state = np.stack(
        [
            np.float32(100) + i,
            np.float32(200) + np.float32(2) * i,
            np.float32(300) + np.float32(0.5) * i,
            np.float32(400) - np.float32(0.25) * i,
            np.float32(0.1) * i,
        ],
        axis=1,
    ).astype(np.float32)
    action = np.stack([np.float32(1000) + np.float32(3) * i, np.float32(2000) - np.float32(2) * i], axis=1)
    n_contacts = (np.arange(N) % 3).astype(np.float32)[:, None]
    return state, action.astype(np.float32), n_contacts


def check_compressed(path: Path):
    """Every chunk big enough for Blosc to compress must really be compressed (not stored as a plain copy),
    so that the Rust test goes through the decompressors."""
    for chunk in sorted(p for p in path.iterdir() if not p.name.startswith(".")):
        header = chunk.read_bytes()[:16]
        flags = header[2]
        nbytes, _, cbytes = struct.unpack("<III", header[4:16])
        if nbytes >= 128:
            assert not flags & 0x02 and cbytes < nbytes, (chunk, flags, nbytes, cbytes)


def main():
    out = Path(sys.argv[1])
    if out.exists():
        shutil.rmtree(out)
    root = zarr.open_group(str(out), mode="w")
    data, meta = root.create_group("data"), root.create_group("meta")
    state, action, n_contacts = values()
    zstd_bit = Blosc(cname="zstd", clevel=5, shuffle=Blosc.BITSHUFFLE)
    lz4_byte = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)
    lz4_none = Blosc(cname="lz4", clevel=5, shuffle=Blosc.NOSHUFFLE)
    data.array("state", state, chunks=(16, 5), compressor=zstd_bit)
    data.array("action", action, chunks=(40, 1), compressor=lz4_byte)
    data.array("n_contacts", n_contacts, chunks=(16, 1), compressor=lz4_byte)
    meta.array("episode_ends", np.array(EPISODE_ENDS, dtype=np.int64), chunks=(2,), compressor=lz4_none)
    check_compressed(out / "data" / "state")
    check_compressed(out / "data" / "action")
    # read back through zarr itself
    again = zarr.open_group(str(out), mode="r")
    assert np.array_equal(again["data/state"][:], state)
    assert np.array_equal(again["data/action"][:], action)
    assert list(again["meta/episode_ends"][:]) == EPISODE_ENDS
    print(f"wrote {out}: {N} rows, episode ends {EPISODE_ENDS}")


if __name__ == "__main__":
    main()
