"""The model cache holds plain arrays: a planted file cannot run code, and anything doubtful is retrained."""
import pickle

import numpy as np
import pytest

from simulator.ml import model as model_module
from simulator.ml.model import train_model


class Marker:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return folder, train_model(11, cache_dir=folder)


def _cache_file(folder):
    (path,) = folder.glob("*.npz")
    return path


def test_cache_is_npz_with_plain_arrays(reference):
    folder, _ = reference
    path = _cache_file(folder)
    with np.load(path, allow_pickle=False) as npz:  # would raise if any array held Python objects
        assert {"key", "feature_names", "input_mean", "reference_weights"} <= set(npz.files)
    assert not list(folder.glob("*.pkl"))


def test_a_planted_pickle_is_never_loaded(tmp_path, reference):
    """An old-style .pkl at the cache path, and an .npz holding a pickled object, run nothing."""
    folder, expected = reference
    key = _cache_file(folder).stem
    marker = tmp_path / "PWNED"
    (tmp_path / f"{key}.pkl").write_bytes(pickle.dumps(Marker(marker)))
    np.savez(tmp_path / f"{key}.npz", key=np.array(key), evil=np.array([Marker(marker)], dtype=object))
    assert train_model(11, cache_dir=tmp_path) == expected
    assert not marker.exists()


@pytest.mark.parametrize("change", ["nan", "shape", "zero_std", "key", "extra", "huge", "not_zip"])
def test_doubtful_cache_files_are_retrained(tmp_path, reference, change, monkeypatch):
    folder, expected = reference
    source = _cache_file(folder)
    target = tmp_path / source.name
    with np.load(source, allow_pickle=False) as npz:
        arrays = {n: npz[n] for n in npz.files}
    if change == "nan":
        arrays["reference_weights"] = arrays["reference_weights"] * np.nan
    elif change == "shape":
        arrays["input_mean"] = np.zeros(3)
    elif change == "zero_std":
        arrays["input_std"] = np.zeros_like(arrays["input_std"])
    elif change == "key":
        arrays["key"] = np.array("another key")
    elif change == "extra":
        arrays["surprise"] = np.zeros(2)
    if change == "huge":
        target.write_bytes(b"PK" + b"\0" * 200_000)
    elif change == "not_zip":
        target.write_bytes(b"not an npz file")
    else:
        np.savez(target, **arrays)
    fits = []
    real_fit = model_module._fit
    monkeypatch.setattr(model_module, "_fit", lambda *a: fits.append(1) or real_fit(*a))
    assert train_model(11, cache_dir=tmp_path) == expected
    assert fits == [1], "a doubtful file must be retrained, not used"
    with np.load(target, allow_pickle=False) as npz:  # and rewritten as a good one
        assert np.isfinite(npz["reference_weights"]).all()
