"""Saving never clobbers what the path points to (issue 15, item 1).

A save follows symbolic links, keeps the target's mode, refuses hard-linked files and
FIFOs/devices with a clear error, and removes the temporary files of killed saves. The fault
test kills a saving process 20 times at random moments and checks after each kill that the
checkpoint is complete (old or new), the link and the mode are as before, and that the next
save leaves no temporary file behind.
"""
import os
import random
import signal
import stat
import time

import numpy as np
import pytest

from tinygrad_edu.utils import atomic_file
from tinygrad_edu.utils import serialization as ser
from tinygrad_edu.utils.serialization import HardLinkError, NotARegularFileError, load_file, read_header, save

posix_only = pytest.mark.skipif(os.name != "posix", reason="symbolic links, modes, FIFOs and flock are POSIX")


def temps(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


def state(v, n=16):
    return {"w": np.full(n, v, np.float32), "step": np.array(v, np.int64)}


@posix_only
def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    target = store / "model.safetensors"
    save(state(1), target)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(os.path.relpath(target, tmp_path))  # relative link, as people make them
    chain = tmp_path / "chain.safetensors"
    chain.symlink_to(link)
    save(state(2), chain)
    assert link.is_symlink() and chain.is_symlink()
    assert os.readlink(link) == os.path.relpath(target, tmp_path)
    assert load_file(target)["step"] == 2 and load_file(link)["step"] == 2
    assert temps(tmp_path) == [] and temps(store) == []


@posix_only
def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.safetensors"
    link.symlink_to(tmp_path / "new.safetensors")
    save(state(3), link)
    assert link.is_symlink() and load_file(tmp_path / "new.safetensors")["step"] == 3


@posix_only
def test_the_target_keeps_its_mode(tmp_path):
    path = tmp_path / "m.safetensors"
    save(state(1), path)
    for mode in (0o600, 0o640, 0o444):
        os.chmod(path, mode)
        save(state(2), path)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
    os.chmod(path, 0o600)


@posix_only
def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        save(state(1), tmp_path / "n.safetensors")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "n.safetensors").st_mode) == 0o640


@posix_only
def test_a_hard_linked_file_is_refused_and_both_names_keep_one_content(tmp_path):
    a = tmp_path / "a.safetensors"
    save(state(1), a)
    b = tmp_path / "b.safetensors"
    os.link(a, b)
    with pytest.raises(HardLinkError, match="2 hard links"):
        save(state(2), b)
    assert os.path.samefile(a, b) and load_file(a)["step"] == 1
    assert temps(tmp_path) == []
    assert isinstance(HardLinkError(), OSError)


@posix_only
def test_a_fifo_is_refused_with_a_clear_error(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFileError, match="FIFO"):
        save(state(1), fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and temps(tmp_path) == []


@posix_only
def test_a_device_is_refused(tmp_path):
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    link = tmp_path / "null.safetensors"
    link.symlink_to("/dev/null")
    with pytest.raises(NotARegularFileError, match="character device"):
        save(state(1), link)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@posix_only
def test_a_symlink_loop_is_a_clear_error(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError, match="symbolic link loop"):
        save(state(1), a)


@posix_only
def test_the_next_save_removes_the_temp_file_of_a_killed_save(tmp_path):
    path = tmp_path / "m.safetensors"
    save(state(1), path)
    # What a SIGKILL'ed writer leaves: its temp file, its process gone, the lock released.
    pid = os.fork()
    if pid == 0:  # the child writes half a temp file and dies without cleaning up
        try:
            fd, _ = atomic_file._create_temp(str(tmp_path), "m.safetensors", 0o600)
            os.write(fd, b"x" * 1000)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    # and a temp file in the older naming, untouched for more than a minute
    old = tmp_path / ".m.safetensors.0123456789ab.tmp"
    old.write_bytes(b"y" * 100)
    os.utime(old, (time.time() - 120, time.time() - 120))
    # neither of which may be mistaken for another target's temp files
    other = tmp_path / f".other.safetensors.tge-{pid}-0123456789ab.tmp"
    other.write_bytes(b"z")
    assert len(temps(tmp_path)) == 3
    save(state(2), path)
    assert temps(tmp_path) == [other.name]
    assert load_file(path)["step"] == 2


@posix_only
def test_a_live_writers_temp_file_is_left_alone(tmp_path):
    fd, tmp = atomic_file._create_temp(str(tmp_path), "m.safetensors", 0o600)
    try:
        save(state(1), tmp_path / "m.safetensors")  # the same process, another save
        assert os.path.exists(tmp)
    finally:
        os.close(fd)
        atomic_file._IN_FLIGHT.discard(os.path.abspath(tmp))
        os.unlink(tmp)


def _saving_child(path, version, wfd):
    """Body of the forked child: save forever, slowly, reporting each finished version."""
    ser._CHUNK_BYTES = 64 * 1024
    write = ser._write_all

    def slow_write(fd, data):
        time.sleep(0.001)
        write(fd, data)

    ser._write_all = slow_write
    os.write(wfd, b"ready\n")
    n = (1 << 20) // 4  # 1 MiB of float32 per save: ~16 slow chunks
    while True:
        version += 1
        save({"w": np.full(n, version, np.float32), "step": np.array(version, np.int64)}, path,
             metadata={"version": str(version)})
        os.write(wfd, f"{version}\n".encode())


def _complete_version(path):
    version = int(read_header(path).metadata["version"])
    data = load_file(path)
    assert (data["w"] == version).all() and data["step"] == version
    return version


@posix_only
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_killing_a_saving_process_20_times_keeps_file_mode_and_link(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    target = store / "ckpt.safetensors"
    link = tmp_path / "ckpt.safetensors"
    save({"w": np.zeros((1 << 20) // 4, np.float32), "step": np.array(0, np.int64)}, target,
         metadata={"version": "0"})
    os.chmod(target, 0o600)
    link.symlink_to(target)
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    version, killed_mid_write, deadline = 0, 0, time.monotonic() + 120
    for _ in range(20):
        assert time.monotonic() < deadline, "the fault test ran past its time bound"
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                _saving_child(str(link), version, w)
            finally:
                os._exit(1)
        os.close(w)
        with os.fdopen(r, "rb") as pipe:
            assert pipe.readline() == b"ready\n"
            time.sleep(rng.uniform(0.0, 0.12))  # mostly inside a save, sometimes between two
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            done = [int(x) for x in pipe.read().split()]
        last = done[-1] if done else version
        # The link, the mode and a complete checkpoint (old or new) are there after each kill.
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        assert os.stat(target).st_nlink == 1
        found = _complete_version(link)
        assert found in (last, last + 1), (found, last)  # killed after the rename: the new one
        if temps(store):
            killed_mid_write += 1
        # The next save to the same path removes what the killed one left.
        save(load_file(link), link, metadata={"version": str(found)})
        assert temps(store) == [] and temps(tmp_path) == []
        assert _complete_version(link) == found
        version = found
    assert killed_mid_write >= 1, "no kill landed inside a save; make the child slower"
