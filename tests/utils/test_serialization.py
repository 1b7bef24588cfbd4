"""safetensors reading and writing with NumPy alone: round trips, interop with the
`safetensors` library, malformed files, and atomic saving (exceptions and SIGKILL)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tinygrad_edu.utils import serialization as ser
from tinygrad_edu.utils.serialization import BFloat16, load, load_file, read_header, save, save_file

ALL_DTYPES = [
    np.float64, np.float32, np.float16,
    np.int64, np.int32, np.int16, np.int8,
    np.uint64, np.uint32, np.uint16, np.uint8,
    np.bool_,
]
SHAPES = [(), (0,), (3, 0, 2), (1,), (7,), (2, 3, 4)]


def random_array(dtype, shape, rng):
    """Arbitrary bit patterns (NaN payloads, -0.0, inf, subnormals included for floats)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = rng.integers(0, 256, size=nbytes, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def tmp_files(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


# ---------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_round_trip_every_dtype_and_shape_bit_exact(tmp_path, dtype):
    rng = np.random.default_rng(0)
    tensors = {f"t{i}": random_array(dtype, shape, rng) for i, shape in enumerate(SHAPES)}
    path = tmp_path / "m.safetensors"
    save_file(tensors, path)
    back = load_file(path)
    assert sorted(back) == sorted(tensors)
    for name, arr in tensors.items():
        assert same_bits(back[name], arr), name


def test_round_trip_property(tmp_path_factory):
    """Any dict of arrays of any supported dtype and shape comes back bit for bit."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st
    from hypothesis.extra import numpy as hnp

    array = st.sampled_from(ALL_DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)))
    names = st.text(min_size=1, max_size=12).filter(lambda n: n != "__metadata__")
    folder = tmp_path_factory.mktemp("prop")

    @settings(max_examples=60, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
    @given(st.dictionaries(names, array, max_size=6))
    def check(tensors):
        path = folder / "p.safetensors"
        save_file(tensors, path)
        back = load_file(path)
        assert sorted(back) == sorted(tensors)
        for name, arr in tensors.items():
            assert same_bits(back[name], arr)

    check()


def test_round_trip_mixed_dtypes_in_one_file_and_special_floats(tmp_path):
    tensors = {
        "w": np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38], dtype=np.float32),
        "d": np.array([[1.5, -2.25]], dtype=np.float64),
        "h": np.array([65504, -0.0, np.nan], dtype=np.float16),
        "ids": np.arange(5, dtype=np.int64),
        "mask": np.array([True, False, True]),
        "scalar": np.array(7, dtype=np.int8),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "ünïcode.name/with spaces": np.ones(2, dtype=np.uint8),
    }
    path = tmp_path / "mixed.safetensors"
    save_file(tensors, path, metadata={"format": "np", "epoch": "3"})
    back = load_file(path)
    for name, arr in tensors.items():
        assert same_bits(back[name], arr), name
    assert read_header(path).metadata == {"format": "np", "epoch": "3"}


def test_loaded_arrays_own_their_memory_and_are_writable(tmp_path):
    path = tmp_path / "a.safetensors"
    save_file({"x": np.arange(6, dtype=np.float32).reshape(2, 3)}, path)
    x = load_file(path)["x"]
    assert x.flags.owndata or x.base is not None and x.base.flags.owndata
    assert x.flags.writeable and x.flags.c_contiguous
    assert x.dtype.isnative
    os.remove(path)  # nothing ties the array to the file any more
    x[0, 0] = 42
    assert x[0, 0] == 42


def test_non_contiguous_and_big_endian_inputs_are_converted(tmp_path):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    big = np.arange(5, dtype=">i4")
    tensors = {"t": base.T, "s": base[::2, 1::3], "big": big}
    path = tmp_path / "nc.safetensors"
    save_file(tensors, path)
    back = load_file(path)
    np.testing.assert_array_equal(back["t"], base.T)
    np.testing.assert_array_equal(back["s"], base[::2, 1::3])
    np.testing.assert_array_equal(back["big"], np.arange(5))
    assert back["big"].dtype == np.int32 and back["big"].dtype.isnative
    assert back["t"].flags.c_contiguous
    assert big.dtype == np.dtype(">i4")  # the caller's arrays are untouched


def test_header_layout(tmp_path):
    path = tmp_path / "layout.safetensors"
    tensors = {"b": np.zeros(3, np.int8), "a": np.zeros(2, np.float64), "c": np.zeros(1, np.float16)}
    save_file(tensors, path, metadata={"k": "v"})
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0
    text = raw[8 : 8 + n].decode("utf-8")
    assert text == text.rstrip() + " " * (len(text) - len(text.rstrip()))  # padded with spaces only
    header = json.loads(text)
    assert [k for k in header if k != "__metadata__"] == ["a", "b", "c"]  # entries sorted by name
    assert header["__metadata__"] == {"k": "v"}
    assert header["a"] == {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}
    # Every tensor starts at a multiple of its element size (largest elements first).
    for entry, itemsize in ((header["a"], 8), (header["c"], 2), (header["b"], 1)):
        assert (8 + n + entry["data_offsets"][0]) % itemsize == 0
    assert len(raw) == 8 + n + 16 + 2 + 3


def test_bfloat16_write_and_read(tmp_path):
    values = np.array([[1.0, -2.5, 0.0], [np.inf, -np.inf, 3.140625]], dtype=np.float32)
    bits = BFloat16.from_float32(values)
    assert bits.bits.dtype == np.uint16 and bits.shape == (2, 3)
    path = tmp_path / "bf16.safetensors"
    save_file({"w": bits, "plain": np.ones(2, np.float32)}, path)
    assert read_header(path).tensors["w"].dtype == "BF16"
    back = load_file(path)["w"]
    assert back.dtype == np.float32 and back.shape == (2, 3)
    np.testing.assert_array_equal(back, values)  # all exactly representable in bfloat16


def test_bfloat16_rounding_is_nearest_even():
    # bfloat16 keeps 7 mantissa bits: near 1.0 its steps are 2**-7. 1 + 2**-8 lies halfway
    # between 1 and 1 + 2**-7 and goes to the even neighbour, 1.0; 1 + 3 * 2**-8 lies halfway
    # between 1 + 2**-7 (odd) and 1 + 2**-6 (even) and goes up. The float32 maximum overflows.
    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-12, np.nan, np.finfo(np.float32).max],
                 dtype=np.float32)
    out = BFloat16.from_float32(x).to_float32()
    assert out[0] == 1.0
    assert out[1] == 1 + 2**-6
    assert out[2] == 1 + 2**-7
    assert np.isnan(out[3])
    assert out[4] == np.inf


def test_bfloat16_rejects_non_uint16_bits():
    with pytest.raises(TypeError, match="uint16"):
        BFloat16(np.zeros(3, np.float32))


# ---------------------------------------------------------------------------------------
# Interop with the safetensors library
# ---------------------------------------------------------------------------------------


def interop_tensors():
    rng = np.random.default_rng(1)
    out = {}
    for i, dtype in enumerate(ALL_DTYPES):
        for j, shape in enumerate([(), (0,), (2, 3)]):
            out[f"{np.dtype(dtype).name}_{j}"] = random_array(dtype, shape, rng)
    return out


def test_files_we_write_are_read_by_the_safetensors_library(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    safetensors = pytest.importorskip("safetensors")
    tensors = interop_tensors()
    path = tmp_path / "ours.safetensors"
    save_file(tensors, path, metadata={"producer": "tinygrad_edu"})
    theirs = st_numpy.load_file(str(path))
    assert sorted(theirs) == sorted(tensors)
    for name, arr in tensors.items():
        assert same_bits(np.asarray(theirs[name]), arr), name
    with safetensors.safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"producer": "tinygrad_edu"}


def test_files_written_by_the_safetensors_library_are_read_by_us(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    tensors = interop_tensors()
    path = tmp_path / "theirs.safetensors"
    st_numpy.save_file(tensors, str(path), metadata={"a": "b"})
    ours = load_file(path)
    assert sorted(ours) == sorted(tensors)
    for name, arr in tensors.items():
        assert same_bits(ours[name], arr), name
    assert read_header(path).metadata == {"a": "b"}


def test_bfloat16_interop_with_torch(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    x = torch.randn(4, 5).to(torch.bfloat16)
    path = tmp_path / "torch_bf16.safetensors"
    st_torch.save_file({"x": x, "y": torch.arange(3)}, str(path))
    ours = load_file(path)
    assert ours["x"].dtype == np.float32
    np.testing.assert_array_equal(ours["x"], x.float().numpy())
    np.testing.assert_array_equal(ours["y"], np.arange(3))
    # And back: our BF16 bits, rounded like torch rounds float32 -> bfloat16.
    f = torch.randn(64).numpy()
    path2 = tmp_path / "ours_bf16.safetensors"
    save_file({"z": BFloat16.from_float32(f)}, path2)
    z = st_torch.load_file(str(path2))["z"]
    assert z.dtype == torch.bfloat16
    assert torch.equal(z, torch.from_numpy(f).to(torch.bfloat16))


# ---------------------------------------------------------------------------------------
# save / load wrappers (tge.save / tge.load)
# ---------------------------------------------------------------------------------------


class FakeTensor:
    """Anything with .numpy() is accepted, as a tinygrad_edu.Tensor is."""

    def __init__(self, arr):
        self._arr = arr

    def numpy(self):
        return self._arr


def test_save_load_wrappers_accept_tensor_like_values(tmp_path):
    sd = {"fc.weight": FakeTensor(np.eye(3, dtype=np.float32)), "fc.bias": np.zeros(3, np.float32),
          "step": np.int64(5)}
    path = tmp_path / "model.safetensors"
    save(sd, path)
    back = load(path)
    np.testing.assert_array_equal(back["fc.weight"], np.eye(3))
    assert back["step"].shape == () and back["step"] == 5
    assert path.exists() and tmp_files(tmp_path) == []


def test_save_accepts_a_real_tensor(tmp_path):
    from tinygrad_edu import Tensor

    t = Tensor(np.arange(4, dtype=np.float32))
    save({"t": t}, tmp_path / "t.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "t.safetensors")["t"], np.arange(4))


def test_save_rejects_values_that_are_not_arrays(tmp_path):
    with pytest.raises(TypeError, match="'x'.*list"):
        save({"x": [1, 2, 3]}, tmp_path / "bad.safetensors")
    with pytest.raises(TypeError, match="state dict"):
        save([("x", np.zeros(1))], tmp_path / "bad.safetensors")


# ---------------------------------------------------------------------------------------
# Validation when writing
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tensors, exc, pattern",
    [
        ({1: np.zeros(1)}, TypeError, "names must be str"),
        ({"": np.zeros(1)}, ValueError, "non-empty"),
        ({"__metadata__": np.zeros(1)}, ValueError, "reserved"),
        ([("a", np.zeros(1)), ("a", np.ones(1))], ValueError, "more than once"),
        ({"a": [1.0, 2.0]}, TypeError, "expected a NumPy array"),
        ({"a": np.zeros(2, np.complex64)}, TypeError, "complex64"),
        ({"a": np.array(["x"], dtype=object)}, TypeError, "object"),
        ({"a": np.array(["abc"])}, TypeError, "<U3"),
        ({"bad\ud800": np.zeros(1)}, ValueError, "lone surrogate"),
        (42, TypeError, "expected a dict"),
    ],
)
def test_save_file_validates_names_and_values(tmp_path, tensors, exc, pattern):
    path = tmp_path / "v.safetensors"
    with pytest.raises(exc, match=pattern):
        save_file(tensors, path)
    assert not path.exists() and tmp_files(tmp_path) == []


def test_save_file_validates_metadata(tmp_path):
    with pytest.raises(TypeError, match="metadata"):
        save_file({"a": np.zeros(1)}, tmp_path / "m.safetensors", metadata={"epoch": 3})
    with pytest.raises(TypeError, match="metadata"):
        save_file({"a": np.zeros(1)}, tmp_path / "m.safetensors", metadata=["x"])


def test_save_file_needs_an_existing_folder_and_a_file_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_file({"a": np.zeros(1)}, tmp_path / "missing" / "m.safetensors")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        save_file({"a": np.zeros(1)}, tmp_path)


# ---------------------------------------------------------------------------------------
# Malformed files
# ---------------------------------------------------------------------------------------


def build(header: dict | bytes, data: bytes = b"", header_len: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(text) if header_len is None else header_len
    return n.to_bytes(8, "little") + text + data


GOOD_HEADER = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
               "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}
GOOD_DATA = bytes(24)

MALFORMED = {
    "empty file": (b"", "shorter than the 8-byte header length"),
    "only 5 bytes": (b"\x01\x02\x03\x04\x05", "5 bytes long"),
    "truncated header": (build(GOOD_HEADER, GOOD_DATA)[:30], "runs past the end"),
    "huge header length": (build(b"{}", header_len=2**63), "exceeds the 100000000-byte limit"),
    "header length past end": (build(b"{}", header_len=1000), "runs past the end"),
    "bad json": (build(b"{not json", b""), "not valid UTF-8 JSON"),
    "bad utf8": (build(b'{"\xff": 1}', b""), "not valid UTF-8 JSON"),
    "json list": (build(b"[1, 2]"), "JSON list, not an object"),
    "entry not object": (build({"w": [1, 2]}), "entry for 'w' is not an object"),
    "missing field": (build({"w": {"dtype": "F32", "shape": [1]}}, bytes(4)), r"lacks \['data_offsets'\]"),
    "extra field": (build({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}}, bytes(4)),
                    "unknown fields"),
    "unknown dtype": (build({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, bytes(1)),
                      "unknown dtype 'F8_E4M3'"),
    "negative dim": (build({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}), "non-negative"),
    "float dim": (build({"w": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, bytes(4)),
                  "non-negative integers"),
    "bool dim": (build({"w": {"dtype": "U8", "shape": [True], "data_offsets": [0, 1]}}, bytes(1)),
                 "non-negative integers"),
    "offsets not pair": (build({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, bytes(4)),
                         r"not \[begin, end\]"),
    "offsets reversed": (build({"w": {"dtype": "U8", "shape": [0], "data_offsets": [4, 0]}}, bytes(4)),
                         "0 <= begin <= end"),
    "wrong size": (build({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, bytes(12)),
                   "span 12 bytes but dtype F32 and shape \\[2, 2\\] need 16"),
    "truncated data": (build(GOOD_HEADER, GOOD_DATA[:20]), "exceed the 20-byte data section"),
    "overlap": (build({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)), "overlap"),
    "gap": (build({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                   "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, bytes(12)), "gap of 4 bytes"),
    "trailing bytes": (build(GOOD_HEADER, GOOD_DATA + b"junk"), "cover 24 bytes but the data section holds 28"),
    "duplicate key": (build(b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
                            b'"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', bytes(1)),
                      "duplicate key 'w'"),
    "metadata not strings": (build({"__metadata__": {"a": 1}}), "not an object of string -> string"),
    "bool byte 2": (build({"m": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x02"),
                    "bytes other than 0 and 1"),
    "huge shape": (build({"w": {"dtype": "F64", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}, bytes(8)),
                   "need 9671406556917033397649408"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_raise_clear_value_errors(tmp_path, case):
    blob, pattern = MALFORMED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=pattern) as info:
        load_file(path)
    message = str(info.value)
    assert message.startswith("safetensors: ") and "bad.safetensors" in message
    if case != "bool byte 2":  # a data check: the header itself is fine
        with pytest.raises(ValueError, match=pattern):
            read_header(path)


def test_the_example_message_for_offsets_past_the_data(tmp_path):
    path = tmp_path / "X.safetensors"
    path.write_bytes(build({"w": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}}, bytes(200)))
    with pytest.raises(ValueError) as info:
        load_file(path)
    assert str(info.value) == (
        f"safetensors: 'w' data_offsets [0, 400] exceed the 200-byte data section of file {str(path)!r}; "
        "the file is truncated or malformed"
    )


def test_every_truncation_of_a_valid_file_is_refused(tmp_path):
    path = tmp_path / "full.safetensors"
    save_file({"a": np.arange(10, dtype=np.float32), "b": np.arange(3, dtype=np.int64)}, path)
    blob = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    for n in range(len(blob)):
        cut.write_bytes(blob[:n])
        with pytest.raises(ValueError, match="safetensors: "):
            load_file(cut)


def test_random_corruption_never_crashes(tmp_path):
    """Flip random bytes of a valid file: loading either works or raises ValueError."""
    path = tmp_path / "full.safetensors"
    save_file({"a": np.arange(10, dtype=np.float32), "m": np.array([True, False])}, path,
              metadata={"k": "v"})
    blob = bytearray(path.read_bytes())
    rng = random.Random(0)
    bad = tmp_path / "bad.safetensors"
    for _ in range(300):
        b = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        bad.write_bytes(bytes(b))
        try:
            load_file(bad)
        except ValueError:
            pass


# ---------------------------------------------------------------------------------------
# Atomic saving
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["header", "data", "fsync", "replace", "interrupt"])
def test_an_exception_mid_save_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, where):
    path = tmp_path / "model.safetensors"
    save_file({"w": np.arange(1000, dtype=np.float32)}, path, metadata={"version": "old"})
    old_bytes = path.read_bytes()
    boom = KeyboardInterrupt if where == "interrupt" else OSError

    if where == "header":
        def failing(fd, data):
            raise boom("disk full")
        monkeypatch.setattr(ser, "_write_all", failing)
    elif where in ("data", "interrupt"):
        real = ser._write_all
        calls = []

        def failing(fd, data):  # let the header and some data through, then fail
            calls.append(1)
            if len(calls) >= 3:
                raise boom("disk full")
            real(fd, data)
        monkeypatch.setattr(ser, "_write_all", failing)
        monkeypatch.setattr(ser, "_CHUNK_BYTES", 1024)
    elif where == "fsync":
        def failing(fd):
            raise OSError("fsync failed")
        monkeypatch.setattr(ser.os, "fsync", failing)
    else:
        def failing(src, dst):
            raise OSError("rename failed")
        monkeypatch.setattr(ser.os, "replace", failing)

    with pytest.raises(boom):
        save_file({"w": np.ones(5000, dtype=np.float32)}, path, metadata={"version": "new"})
    assert path.read_bytes() == old_bytes
    assert tmp_files(tmp_path) == []
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_save_replaces_the_file_in_place_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "model.safetensors"
    for version in range(3):
        save_file({"w": np.full(10, version, np.int32)}, path)
        assert load_file(path)["w"][0] == version
    assert os.listdir(tmp_path) == ["model.safetensors"]


CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np

    from tinygrad_edu.utils import serialization as ser  # sys.argv[1] is its file, unused
    path, megabytes, version = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    # Small chunks with a short pause each, so that a save lasts long enough to be killed inside.
    ser._CHUNK_BYTES = 1 << 20
    write = ser._write_all
    def slow_write(fd, data):
        time.sleep(0.002)
        write(fd, data)
    ser._write_all = slow_write

    n = megabytes * (1 << 20) // 16
    print("ready", flush=True)
    while True:
        version += 1
        state = {
            "a.weight": np.full((n // 1024, 1024), version, dtype=np.float32),
            "b.ids": np.full(n // 2, version, dtype=np.int64),
            "c.flag": np.full(7, version % 2 == 1),
            "d.scalar": np.array(version, dtype=np.int32),
        }
        ser.save(state, path, metadata={"version": str(version)})
        print(version, flush=True)
    """
)


def check_complete(path, megabytes):
    """The file at path is one whole save: every tensor holds the version in its metadata."""
    header = read_header(path)
    version = int(header.metadata["version"])
    data = load_file(path)
    n = megabytes * (1 << 20) // 16
    assert data["a.weight"].shape == (n // 1024, 1024) and (data["a.weight"] == version).all()
    assert data["b.ids"].shape == (n // 2,) and (data["b.ids"] == version).all()
    assert (data["c.flag"] == (version % 2 == 1)).all()
    assert data["d.scalar"] == version
    return version


def test_sigkill_mid_save_leaves_the_old_or_the_new_file_complete(tmp_path):
    megabytes = int(os.environ.get("TGE_KILL_TEST_MB", "48"))
    rounds = int(os.environ.get("TGE_KILL_TEST_ROUNDS", "6"))
    path = tmp_path / "big.safetensors"
    child_file = tmp_path / "child.py"
    child_file.write_text(CHILD)
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))

    # Version 0, written by this process, is the "old" file the first child overwrites.
    n = megabytes * (1 << 20) // 16
    save({"a.weight": np.zeros((n // 1024, 1024), np.float32), "b.ids": np.zeros(n // 2, np.int64),
          "c.flag": np.zeros(7, bool), "d.scalar": np.array(0, np.int32)}, path, metadata={"version": "0"})
    version = 0
    killed_mid_write = 0
    for _ in range(rounds):
        proc = subprocess.Popen(
            [sys.executable, str(child_file), ser.__file__, str(path), str(megabytes), str(version)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            # Somewhere in the first few saves: mostly inside one, sometimes between two.
            proc_wait = rng.uniform(0.05, 1.5)
            try:
                proc.wait(timeout=proc_wait)
            except subprocess.TimeoutExpired:
                pass
            assert proc.poll() is None, f"the child died by itself: {proc.stderr.read()}"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        done = [int(line) for line in proc.stdout.read().split()]
        proc.stdout.close()
        proc.stderr.close()
        last_done = done[-1] if done else version
        found = check_complete(path, megabytes)
        # Killed after the rename but before printing counts as the new file, and is fine.
        assert found in (last_done, last_done + 1), (found, last_done)
        leftovers = tmp_files(tmp_path)
        if leftovers:
            killed_mid_write += 1
            for name in leftovers:  # a SIGKILL'ed writer cannot clean up its temp file
                os.remove(tmp_path / name)
        version = found
    # The kills must have caught a save in progress at least once, or the test proved nothing.
    assert killed_mid_write >= 1, "no kill landed inside a save; make the child slower"
