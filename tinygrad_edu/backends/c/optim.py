"""C wrappers of the optimizer steps over all parameters of a group (csrc/optim.c)."""
import threading

from .. import c as C

# The pointer arrays of an optimizer's persistent arrays (parameters and state), built once
# and reused while the same array objects come back (keyed by their ids; the cache holds
# the arrays, so no id can be reused by another array while its entry lives, and NumPy
# refuses to resize an array in place while another reference to it exists).
_PERSISTENT = {}
_PERSISTENT_MAX = 16
_PERSISTENT_LOCK = threading.Lock()  # two threads stepping optimizers at once


def _pointer_array(ctype, arrays):
    return C.ffi.new(f"{ctype} *[]", [C._ptr(a, ctype) for a in arrays])


def _persistent_pointers(op, dtype, ctype, lists):
    """(sizes cdata, [pointer array per list]) for lists of (checked) persistent arrays."""
    key = (op, dtype) + tuple([id(a) for arrays in lists for a in arrays])
    with _PERSISTENT_LOCK:
        entry = _PERSISTENT.get(key)
        if entry is None:
            if len(_PERSISTENT) >= _PERSISTENT_MAX:
                _PERSISTENT.pop(next(iter(_PERSISTENT)))
            entry = _PERSISTENT[key] = (
                [list(arrays) for arrays in lists],
                C.ffi.new("int64_t[]", [p.size for p in lists[0]]),
                [_pointer_array(ctype, arrays) for arrays in lists])
    return entry[1], entry[2]


def adam_step(hp, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps):
    """Adam / AdamW on every array of ``params`` in place, in one C call; see
    numpy_ref.adam_step."""
    C._require()
    if not params:
        return
    lists = [params, exp_avgs, exp_avg_sqs] + ([max_exp_avg_sqs] if hp["amsgrad"] else [])
    ctype, fn = C._kernel("adam_step", params[0].dtype)
    sizes, ptrs = _persistent_pointers("adam_step", params[0].dtype, ctype, lists)
    beta1, beta2 = (float(b) for b in hp["betas"])
    c_hp = C.ffi.new("tge_adam_params *", {
        "lr": float(hp["lr"]), "beta1": beta1, "beta2": beta2, "eps": float(hp["eps"]),
        "weight_decay": float(hp["weight_decay"]), "decoupled": int(bool(hp["decoupled"])),
        "amsgrad": int(bool(hp["amsgrad"])), "maximize": int(bool(hp["maximize"]))})
    maxes = ptrs[3] if hp["amsgrad"] else C.ffi.NULL
    rc = fn(c_hp, len(params), ptrs[0], _pointer_array(ctype, grads), ptrs[1], ptrs[2], maxes,
            sizes, C.ffi.new("int64_t[]", steps))
    C._check_rc(rc, "adam_step", f"{len(params)} parameters")


def sgd_step(hp, params, grads, momentum_buffers, first):
    """SGD on every array of ``params`` in place, in one C call; see numpy_ref.sgd_step."""
    C._require()
    if not params:
        return
    momentum = float(hp["momentum"])
    lists = [params] + ([momentum_buffers] if momentum != 0 else [])
    ctype, fn = C._kernel("sgd_step", params[0].dtype)
    sizes, ptrs = _persistent_pointers("sgd_step", params[0].dtype, ctype, lists)
    c_hp = C.ffi.new("tge_sgd_params *", {
        "lr": float(hp["lr"]), "momentum": momentum, "dampening": float(hp["dampening"]),
        "weight_decay": float(hp["weight_decay"]), "nesterov": int(bool(hp["nesterov"])),
        "maximize": int(bool(hp["maximize"]))})
    bufs = ptrs[1] if momentum != 0 else C.ffi.NULL
    flags = C.ffi.new("int64_t[]", [int(bool(f)) for f in first]) if momentum != 0 \
        else C.ffi.NULL
    rc = fn(c_hp, len(params), ptrs[0], _pointer_array(ctype, grads), bufs, flags, sizes)
    C._check_rc(rc, "sgd_step", f"{len(params)} parameters")
