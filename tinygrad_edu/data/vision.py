"""MNIST and Fashion-MNIST from their original IDX files.

``mnist()`` returns NumPy arrays like ``keras.datasets.mnist.load_data()``; ``MNIST`` is
the same data as a dataset object for the DataLoader, like ``torchvision.datasets.MNIST``.
Where the files are looked for and how they are downloaded: see ``tinygrad_edu.data._files``
(root argument, ``$TGE_DATA``, ``~/.cache/tinygrad_edu/NAME``, system folders).
"""
from __future__ import annotations

import os

import numpy as np

from tinygrad_edu.data._files import ChecksumError, file_digest, locate
from tinygrad_edu.data.idx import read_idx
from tinygrad_edu.data.loader import TensorDataset

__all__ = ["mnist", "fashion_mnist", "MNIST", "MNIST_SHA256", "FASHION_MNIST_MD5"]

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049

# SHA-256 of the published gzip files (the files whose MD5s f68b3c2d..., d53e105e...,
# 9fb629c4..., ec29112d... every well-known loader pins).
MNIST_SHA256 = {
    TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
# Sizes in bytes of the published files, gzip-compressed and not, and the SHA-256 of their
# uncompressed contents: a copy found on disk with the published size must have the
# published hash (see _verify_found).
MNIST_SIZES = {
    TRAIN_IMAGES: (9912422, 47040016),
    TRAIN_LABELS: (28881, 60008),
    TEST_IMAGES: (1648877, 7840016),
    TEST_LABELS: (4542, 10008),
}
MNIST_RAW_SHA256 = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# Fashion-MNIST publishes MD5s only (in its README, Zalando Research); we verify those on
# download. No SHA-256 is published, and the copies that Linux distributions ship are
# re-compressed (same images, different .gz bytes), so files found on disk are checked by
# their IDX headers and sizes, not by a hash.
FASHION_MNIST_MD5 = {
    TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
    TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
    TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
}
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]
FASHION_MNIST_MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
]
FASHION_MNIST_SYSTEM_DIRS = ["/usr/share/datasets/fashion-mnist"]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _source(fashion):
    if fashion:
        return dict(title="Fashion-MNIST", name="fashion-mnist", mirrors=FASHION_MNIST_MIRRORS,
                    sha256=None, md5=FASHION_MNIST_MD5, extra_dirs=FASHION_MNIST_SYSTEM_DIRS)
    return dict(title="MNIST", name="mnist", mirrors=MNIST_MIRRORS, sha256=MNIST_SHA256,
                md5=None, extra_dirs=())


def _locate(files, root, fashion, download):
    src = _source(fashion)
    return locate(src["title"], src["name"], files, root=root, extra_dirs=src["extra_dirs"],
                  download=download, mirrors=src["mirrors"], sha256=src["sha256"], md5=src["md5"])


_VERIFIED: dict = {}   # (path, size, mtime_ns, inode) -> SHA-256 already computed


def _verify_found(paths, fashion):
    """Check MNIST files found on disk against the published SHA-256, not only downloads.

    A file with the published file's exact size (compressed or not) claims to be that file:
    its SHA-256 must match, else ChecksumError (a damaged copy: delete it to fetch it again).
    A file of another size is not a copy of the published one (a truncated copy, or a
    user's own MNIST-format set): the IDX reader's header and size checks judge it.
    """
    if fashion:
        return
    for filename, path in paths.items():
        if filename not in MNIST_SIZES:
            continue
        st = os.stat(path)
        compressed = path.name.endswith(".gz")
        if st.st_size != MNIST_SIZES[filename][0 if compressed else 1]:
            continue
        expected = (MNIST_SHA256 if compressed else MNIST_RAW_SHA256)[filename]
        key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
        digest = _VERIFIED.get(key) or file_digest(path, "sha256")
        if digest != expected:
            raise ChecksumError(
                f"MNIST: {path} has the size of the published {path.name} but its SHA-256 is {digest}, "
                f"expected {expected}: the file is damaged; delete it (download=True fetches it again)")
        _VERIFIED[key] = digest


def _read_split(paths, train, fashion):
    """(images (n, 28, 28) uint8, labels (n,) int64) of one split, validated."""
    img_file, lbl_file = (TRAIN_IMAGES, TRAIN_LABELS) if train else (TEST_IMAGES, TEST_LABELS)
    title = _source(fashion)["title"]
    _verify_found({f: paths[f] for f in (img_file, lbl_file)}, fashion)
    images = read_idx(paths[img_file], expected_magic=IMAGES_MAGIC, expected_shape=(None, 28, 28))
    labels = read_idx(paths[lbl_file], expected_magic=LABELS_MAGIC, expected_shape=(None,))
    if len(images) != len(labels):
        raise ValueError(f"{title}: {paths[img_file]} holds {len(images)} images but "
                         f"{paths[lbl_file]} holds {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{title}: {paths[lbl_file]} has label {int(labels.max())}, expected 0..9")
    return images, labels.astype(np.int64)


def mnist(root=None, fashion=False, download=True):
    """Load MNIST (or Fashion-MNIST with ``fashion=True``) as NumPy arrays.

    root: optional folder to look in first (``root/mnist/`` or ``root/`` itself; for
    Fashion-MNIST ``root/fashion-mnist/``); downloads go there when given, else to
    ``~/.cache/tinygrad_edu/<name>/``. download: fetch missing files from the published
    mirrors (SHA-256 checked for MNIST, MD5 for Fashion-MNIST).

    Returns ``((x_train, y_train), (x_test, y_test))``: images uint8 (60000, 28, 28) and
    (10000, 28, 28), 0 = background, 255 = ink; labels int64 (60000,) and (10000,) in 0..9.

    Raises DatasetNotFoundError (a FileNotFoundError) naming the files and folders when
    the data is neither on disk nor downloadable, ValueError for a damaged file (a
    ChecksumError when a file of the published size does not have the published SHA-256).
    """
    paths = _locate([TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS], root, fashion, download)
    return _read_split(paths, True, fashion), _read_split(paths, False, fashion)


def fashion_mnist(root=None, download=True):
    """``mnist(root, fashion=True, download)``: Zalando's Fashion-MNIST (10 clothing classes,
    names in ``FASHION_MNIST_CLASSES``), same shapes and dtypes as MNIST."""
    return mnist(root=root, fashion=True, download=download)


class MNIST(TensorDataset):
    """MNIST (or Fashion-MNIST) as a dataset of ``(image, label)`` pairs.

    train: the 60,000 training images, else the 10,000 test images. normalize: False keeps
    images uint8 (n, 28, 28); True gives float32 (n, 1, 28, 28) in [0, 1], ready for a CNN.
    Labels are int64 (n,). ``.data`` and ``.targets`` hold the arrays (torchvision's names),
    ``.classes`` the class names. root / fashion / download: as for ``mnist()``.
    """

    def __init__(self, root=None, train=True, fashion=False, download=True, normalize=False):
        files = [TRAIN_IMAGES, TRAIN_LABELS] if train else [TEST_IMAGES, TEST_LABELS]
        images, labels = _read_split(_locate(files, root, fashion, download), train, fashion)
        if normalize:
            images = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
        super().__init__(images, labels)
        self.data, self.targets = images, labels
        self.train, self.fashion = bool(train), bool(fashion)
        self.classes = FASHION_MNIST_CLASSES if fashion else [str(i) for i in range(10)]
