"""LatentSMOTEOverSampler: counts, dtypes, new samples that keep their class's look, errors, pipelines."""

import pickle
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from imblearn.utils.estimator_checks import _yield_all_checks
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, cross_validate
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from imbsk import CNNClassifier
from imbsk.classifier import FewStepsWarning
from imbsk.metrics import BALANCED_SCORING
from imbsk.pipeline import make_pipeline
from imbsk.sampling import ConditionalVAEOverSampler, LatentSMOTEOverSampler, RandomOverSampler, RatioStrategy

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = dict(latent_dim=8, epochs=40, width=8, batch_size=16, lr=3e-3)


def stripes(n_per_class=(60, 12), channels=1, size=8, seed=0, dtype=np.uint8):
    """Class 0: dark images with vertical stripes; class 1: bright images with horizontal stripes; noise."""
    rng = np.random.RandomState(seed)
    coords = np.arange(size)
    patterns = [
        40 + 60 * (coords[None, :] % 2) * np.ones((size, 1)),
        150 + 80 * (coords[:, None] % 2) * np.ones((1, size)),
    ]
    X, y = [], []
    for klass, n in enumerate(n_per_class):
        for _ in range(n):
            image = patterns[klass % 2] + rng.normal(0, 20, (channels, size, size)) + rng.uniform(-20, 20)
            X.append(image)
            y.append(klass)
    X = np.clip(np.array(X), 0, 255)
    return (np.rint(X) if np.issubdtype(dtype, np.integer) else X).astype(dtype), np.array(y)


def _resample_stripes(sampler):
    X, y = stripes()
    X_res, y_res = sampler.fit_resample(X, y)
    return X, y, sampler, X_res, y_res


def _assert_balanced_uint8_originals_first(X, X_res, y_res):
    assert X_res.shape == (120, 1, 8, 8) and X_res.dtype == np.uint8
    assert Counter(y_res.tolist()) == {0: 60, 1: 60}
    np.testing.assert_array_equal(X_res[: len(X)], X)


@pytest.fixture(scope="module")
def resampled():
    return _resample_stripes(LatentSMOTEOverSampler(**FAST, random_state=0))


# ----------------------------------------------------------------------------- counts, shapes, dtypes
def test_counts_shape_dtype_and_originals_first(resampled):
    X, y, sampler, X_res, y_res = resampled
    _assert_balanced_uint8_originals_first(X, X_res, y_res)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    assert np.all(y_res[len(y):] == 1)
    assert sampler.sampling_strategy_ == {1: 48}
    assert sampler.k_neighbors_ == {1: 5}
    assert len(sampler.loss_curve_) == FAST["epochs"]
    # The autoencoder learned something: the loss fell by more than half.
    assert sampler.loss_curve_[-1] < 0.5 * sampler.loss_curve_[0]
    assert sampler.device_ == "cpu" and sampler.n_features_in_ == 1
    assert next(sampler.autoencoder_.parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    "strategy, expected",
    [
        ("auto", {0: 40, 1: 40, 2: 40}),
        ({1: 30, 2: 12}, {0: 40, 1: 30, 2: 12}),
        ("minority", {0: 40, 1: 20, 2: 40}),
        (RatioStrategy(0.5), {0: 40, 1: 20, 2: 20}),
    ],
)
def test_every_sampling_strategy_form(strategy, expected):
    X, y = stripes(n_per_class=(40, 20, 6), channels=3)
    X_res, y_res = LatentSMOTEOverSampler(
        sampling_strategy=strategy, latent_dim=4, epochs=1, width=4, random_state=0
    ).fit_resample(X, y)
    assert Counter(y_res.tolist()) == expected
    assert X_res.shape == (sum(expected.values()), 3, 8, 8) and X_res.dtype == np.uint8


def test_string_labels_and_sparse_input():
    X, y = stripes()
    labels = np.array(["cat", "dog"])[y]
    _, y_res = LatentSMOTEOverSampler(latent_dim=4, epochs=1, width=4, random_state=0).fit_resample(X, labels)
    assert Counter(y_res.tolist()) == {"cat": 60, "dog": 60}
    X1, _ = stripes(n_per_class=(40, 1))
    with pytest.raises(ValueError, match="Class 'dog' has 1 sample"):
        LatentSMOTEOverSampler(latent_dim=4, epochs=1).fit_resample(X1, np.array(["cat"] * 40 + ["dog"]))
    with pytest.raises(TypeError, match="needs dense X"):
        LatentSMOTEOverSampler(latent_dim=4, epochs=1).fit_resample(sp.csr_matrix(X.reshape(len(X), -1)), y)


def test_binary_float_strategy():
    X, y = stripes()
    _, y_res = LatentSMOTEOverSampler(sampling_strategy=0.5, latent_dim=4, epochs=1, width=4).fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 60, 1: 30}


def test_float_images_keep_dtype_and_range_and_3d_input_keeps_its_shape():
    X, y = stripes(dtype=np.float32)
    X = X / 255.0 - 0.5
    X_res, y_res = LatentSMOTEOverSampler(latent_dim=4, epochs=2, width=4, random_state=0).fit_resample(X, y)
    assert X_res.dtype == np.float32
    assert X_res.min() >= X.min() - 1e-6 and X_res.max() <= X.max() + 1e-6
    X3 = stripes()[0][:, 0]  # (n, H, W)
    X_res, _ = LatentSMOTEOverSampler(latent_dim=4, epochs=1, width=4, random_state=0).fit_resample(X3, y)
    assert X_res.shape == (120, 8, 8) and X_res.dtype == np.uint8


@pytest.mark.parametrize("shape", [(3, 7, 10), (1, 12, 8), (2, 2, 2)])
def test_odd_and_non_square_image_sizes(shape):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, (30,) + shape).astype(np.uint8)
    y = np.array([0] * 24 + [1] * 6)
    sampler = LatentSMOTEOverSampler(latent_dim=4, epochs=1, width=4, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    assert X_res.shape == (48,) + shape and X_res.dtype == np.uint8
    assert sampler.decode(sampler.encode(X[:3])).shape == (3,) + shape


def test_tabular_input_gets_an_mlp_autoencoder():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (50, 6)), rng.normal(4, 1, (10, 6))])
    y = np.array([0] * 50 + [1] * 10)
    sampler = LatentSMOTEOverSampler(latent_dim=3, epochs=60, width=8, batch_size=16, lr=1e-2, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape == (100, 6) and X_res.dtype == np.float64
    assert Counter(y_res.tolist()) == {0: 50, 1: 50}
    new = X_res[60:]
    # New rows lie on the rare class's side.
    to_rare, to_common = (np.linalg.norm(new - X[y == k].mean(0), axis=1).mean() for k in (1, 0))
    assert to_rare < to_common


# ----------------------------------------------------------------------------- what is generated
def _flat(a):
    return a.reshape(len(a), -1).astype(np.float64)


def test_generated_images_are_new_not_copies(resampled):
    X, y, _, X_res, _ = resampled
    new, train = _flat(X_res[len(X):]), _flat(X)
    dist = np.sqrt(((new[:, None] - train[None]) ** 2).sum(-1))
    nearest = dist.min(axis=1)
    # No generated image equals any training image; uint8 rounding may make a few equal to each other.
    assert np.all(nearest > 0)
    assert len(np.unique(new, axis=0)) >= 0.9 * len(new)
    # Random over-sampling, for contrast, makes exact copies: the check above would fail on it.
    X_ros, _ = RandomOverSampler(random_state=0).fit_resample(X, y)
    ros_nearest = np.sqrt(((_flat(X_ros[len(X):])[:, None] - train[None]) ** 2).sum(-1)).min(axis=1)
    assert np.all(ros_nearest == 0)
    # And not mere near-copies: typically as far from the nearest training image as the noise
    # between two rare training images (the distance a new draw of the class would be).
    rare = train[y == 1]
    rare_gaps = np.sqrt(((rare[:, None] - rare[None]) ** 2).sum(-1))
    rare_nearest = np.where(np.eye(len(rare), dtype=bool), np.inf, rare_gaps).min(axis=1)
    assert np.median(nearest) > 0.25 * np.median(rare_nearest)


def test_generated_images_look_like_their_class(resampled):
    X, y, _, X_res, _ = resampled
    new, train = _flat(X_res[len(X):]), _flat(X)
    centroids = np.stack([train[y == k].mean(0) for k in (0, 1)])
    nearest_centroid = np.argmin(((new[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest_centroid == 1) == 1.0
    # The horizontal stripes of class 1 survive decoding: rows alternate, columns do not.
    images = X_res[len(X):, 0].astype(np.float64)
    row_contrast = np.abs(np.diff(images.mean(axis=2), axis=1)).mean()
    col_contrast = np.abs(np.diff(images.mean(axis=1), axis=1)).mean()
    assert row_contrast > 3 * col_contrast


# ----------------------------------------------------------------------------- contract
def test_reproducible_and_input_not_modified():
    X, y = stripes()
    X_copy, y_copy = X.copy(), y.copy()
    params = dict(latent_dim=4, epochs=2, width=4)
    a, _ = LatentSMOTEOverSampler(**params, random_state=3).fit_resample(X, y)
    b, _ = LatentSMOTEOverSampler(**params, random_state=3).fit_resample(X, y)
    c, _ = LatentSMOTEOverSampler(**params, random_state=4).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_few_training_steps_warn():
    X, y = stripes()  # 72 images: one step an epoch at batch_size=128
    with pytest.warns(FewStepsWarning, match="autoencoder will take only 3 optimisation steps"):
        LatentSMOTEOverSampler(latent_dim=4, epochs=3, width=4, random_state=0).fit_resample(X, y)


def test_torch_state_and_threads_restored():
    X, y = stripes()
    threads = torch.get_num_threads()
    state = torch.get_rng_state()
    LatentSMOTEOverSampler(latent_dim=4, epochs=1, width=4, n_threads=2, random_state=0).fit_resample(X, y)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), state)


def test_encode_decode(resampled):
    X, _, sampler, _, _ = resampled
    codes = sampler.encode(X[:5])
    assert codes.shape == (5, FAST["latent_dim"])
    out = sampler.decode(codes)
    assert out.shape == (5, 1, 8, 8) and out.dtype == np.uint8
    # Reconstructions are close to the originals (mean error well below the class contrast of ~110).
    assert np.abs(out.astype(float) - X[:5]).mean() < 30
    with pytest.raises(ValueError, match="codes must have shape"):
        sampler.decode(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        sampler.encode(np.zeros((2, 3, 8, 8)))
    with pytest.raises(ValueError, match="not fitted yet"):
        LatentSMOTEOverSampler().encode(X)
    # A fitted sampler pickles, and the copy decodes the same images.
    copy = pickle.loads(pickle.dumps(sampler))
    np.testing.assert_array_equal(copy.decode(codes), out)


# ----------------------------------------------------------------------------- bad input
def test_latent_dim_larger_than_the_image():
    X, y = stripes(size=4)  # 1 x 4 x 4 = 16 values
    with pytest.raises(ValueError, match=r"latent_dim=17 is larger than one sample \(1 x 4 x 4 = 16 values\)"):
        LatentSMOTEOverSampler(latent_dim=17, epochs=1).fit_resample(X, y)


def test_class_with_a_single_image_is_named():
    X, y = stripes(n_per_class=(20, 1))
    with pytest.raises(ValueError, match=r"Class 1 has 1 sample\(s\).*needs at least 2"):
        LatentSMOTEOverSampler(latent_dim=4, epochs=1).fit_resample(X, y)
    # Left out of the strategy, it is allowed (nothing is interpolated for it).
    X3, y3 = stripes(n_per_class=(20, 10, 1))
    _, y_res = LatentSMOTEOverSampler(sampling_strategy={1: 20}, latent_dim=4, epochs=1, width=4).fit_resample(X3, y3)
    assert Counter(y_res.tolist()) == {0: 20, 1: 20, 2: 1}


def test_few_images_adapt_k_neighbors():
    X, y = stripes(n_per_class=(20, 3))
    sampler = LatentSMOTEOverSampler(latent_dim=4, epochs=1, width=4, random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    assert sampler.k_neighbors_ == {1: 2}
    assert Counter(y_res.tolist()) == {0: 20, 1: 20}


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(epochs=0), InvalidParameterError, "'epochs' parameter"),
        (dict(lr=-1.0), InvalidParameterError, "'lr' parameter"),
        (dict(latent_dim=True), ValueError, "latent_dim must be a positive int, not a bool"),
        (dict(device="tpu9"), ValueError, "device='tpu9' is not a device"),
        (dict(penalty_weight=-0.1), InvalidParameterError, "'penalty_weight' parameter"),
        (dict(n_threads=0), InvalidParameterError, "'n_threads' parameter"),
    ],
)
def test_bad_parameters(params, error, match):
    X, y = stripes(n_per_class=(10, 4))
    with pytest.raises(error, match=match):
        LatentSMOTEOverSampler(**{"latent_dim": 4, "epochs": 1, **params}).fit_resample(X, y)


def test_diverged_training_is_an_error_naming_lr():
    X, y = stripes()
    with pytest.raises(ValueError, match=r"training diverged with lr=10000000000.0 .*lower lr"):
        LatentSMOTEOverSampler(latent_dim=4, epochs=3, width=4, lr=1e10, batch_size=8).fit_resample(X, y)


def test_nan_and_5d_input_refused():
    X, y = stripes(n_per_class=(10, 4), dtype=np.float32)
    X[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LatentSMOTEOverSampler(latent_dim=4, epochs=1).fit_resample(X, y)
    with pytest.raises(ValueError, match="5-D array"):
        LatentSMOTEOverSampler(latent_dim=4, epochs=1).fit_resample(np.zeros((14, 1, 2, 8, 8)), y)


def test_cuda_device_when_unavailable():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = stripes(n_per_class=(10, 4))
    with pytest.raises(ValueError, match="CUDA is not available"):
        LatentSMOTEOverSampler(latent_dim=4, epochs=1, device="cuda").fit_resample(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind", ["smote", "cvae"])
def test_trains_on_cuda(kind):
    X, y = stripes()
    cls = LatentSMOTEOverSampler if kind == "smote" else ConditionalVAEOverSampler
    sampler = cls(**FAST, device="auto", random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.device_.startswith("cuda") and X_res.dtype == np.uint8
    assert Counter(y_res.tolist()) == {0: 60, 1: 60}
    assert next(sampler.autoencoder_.parameters()).device.type == "cpu"


# imbalanced-learn's own sampler checks (2-D data), with the random_state=42 its common tests set.
_CHECKED = LatentSMOTEOverSampler(latent_dim=2, epochs=1, width=4, random_state=42)
_CHECKS = list(_yield_all_checks(_CHECKED, legacy=True))


@pytest.mark.parametrize("check", _CHECKS, ids=[getattr(c, "func", c).__name__ for c in _CHECKS])
def test_imblearn_sampler_checks(check):
    check(type(_CHECKED).__name__, clone(_CHECKED))


# ----------------------------------------------------------------------------- pipelines
def _flatten_scaled(X):
    return X.reshape(len(X), -1) / 255.0


def _scored_pipeline(sampler):
    """Stripes, ``sampler`` -> flatten -> logistic regression, and its 3-fold balanced accuracies."""
    X, y = stripes(n_per_class=(60, 15), seed=1)
    pipe = make_pipeline(sampler, FunctionTransformer(_flatten_scaled), LogisticRegression(max_iter=300))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3), scoring="balanced_accuracy", error_score="raise")
    return X, y, pipe, scores


def test_pipeline_with_sklearn_classifier_in_cross_val_score_and_grid_search():
    X, y, pipe, scores = _scored_pipeline(LatentSMOTEOverSampler(latent_dim=4, epochs=5, width=4, random_state=0))
    assert scores.mean() > 0.8
    search = GridSearchCV(
        pipe, {"latentsmoteoversampler__sampling_strategy": [0.5, 1.0]}, cv=StratifiedKFold(3),
        scoring="balanced_accuracy", error_score="raise",
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert clone(pipe).get_params()["latentsmoteoversampler__latent_dim"] == 4


def test_pipeline_with_cnn_classifier_in_cross_validate_with_balanced_scoring():
    X, y = stripes(n_per_class=(60, 15), channels=3, seed=2)
    pipe = make_pipeline(
        LatentSMOTEOverSampler(latent_dim=8, epochs=5, width=4, random_state=0),
        CNNClassifier(module__width=4, module__dropout=0.0, max_epochs=3, batch_size=32, random_state=0),
    )
    result = cross_validate(pipe, X, y, cv=StratifiedKFold(3), scoring=BALANCED_SCORING, error_score="raise")
    assert result["test_balanced_accuracy"].mean() > 0.7
    assert set(BALANCED_SCORING) <= {key.removeprefix("test_") for key in result}


# ----------------------------------------------------------------------------- conditional VAE
@pytest.fixture(scope="module")
def cvae_resampled():
    return _resample_stripes(
        ConditionalVAEOverSampler(latent_dim=4, epochs=40, width=8, batch_size=16, lr=3e-3, random_state=0)
    )


def test_cvae_counts_dtype_new_images_of_their_class(cvae_resampled):
    X, y, sampler, X_res, y_res = cvae_resampled
    _assert_balanced_uint8_originals_first(X, X_res, y_res)
    assert sampler.loss_curve_[-1] < sampler.loss_curve_[0]
    new, train = _flat(X_res[len(X):]), _flat(X)
    nearest = np.sqrt(((new[:, None] - train[None]) ** 2).sum(-1)).min(axis=1)
    assert np.all(nearest > 0) and len(np.unique(new, axis=0)) >= 0.9 * len(new)
    centroids = np.stack([train[y == k].mean(0) for k in (0, 1)])
    assert np.all(np.argmin(((new[:, None] - centroids[None]) ** 2).sum(-1), axis=1) == 1)
    images = X_res[len(X):, 0].astype(np.float64)
    assert np.abs(np.diff(images.mean(axis=2), axis=1)).mean() > 3 * np.abs(np.diff(images.mean(axis=1), axis=1)).mean()


def test_cvae_sample_any_class_reproducibly(cvae_resampled):
    X, y, sampler, _, _ = cvae_resampled
    dark = sampler.sample(5, 0, random_state=1)
    assert dark.shape == (5, 1, 8, 8) and dark.dtype == np.uint8
    assert dark.mean() < X[y == 1].mean() - 50  # class 0 is the dark one
    np.testing.assert_array_equal(dark, sampler.sample(5, 0, random_state=1))
    empty = sampler.sample(0, 0)
    assert empty.shape == (0, 1, 8, 8) and empty.dtype == np.uint8
    with pytest.raises(ValueError, match=r"klass=7 is not one of the fitted classes \[0, 1\]"):
        sampler.sample(2, 7)
    with pytest.raises(ValueError, match="n_samples must be a non-negative int"):
        sampler.sample(-1, 0)
    with pytest.raises(ValueError, match="not fitted yet"):
        ConditionalVAEOverSampler().sample(2, 0)


def test_cvae_over_samples_a_single_image_class_and_is_reproducible():
    X, y = stripes(n_per_class=(30, 1))
    params = dict(latent_dim=4, epochs=2, width=4, random_state=0)
    X_a, y_a = ConditionalVAEOverSampler(**params).fit_resample(X, y)
    X_b, _ = ConditionalVAEOverSampler(**params).fit_resample(X, y)
    assert Counter(y_a.tolist()) == {0: 30, 1: 30}
    np.testing.assert_array_equal(X_a, X_b)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(beta=-1.0), InvalidParameterError, "'beta' parameter"),
        (dict(latent_dim=65), ValueError, r"latent_dim=65 is larger than one sample \(1 x 8 x 8 = 64 values\)"),
        (dict(epochs=True), ValueError, "epochs must be a positive int, not a bool"),
    ],
)
def test_cvae_bad_parameters(params, error, match):
    X, y = stripes(n_per_class=(10, 4))
    with pytest.raises(error, match=match):
        ConditionalVAEOverSampler(**{"latent_dim": 4, "epochs": 1, **params}).fit_resample(X, y)


def test_cvae_in_a_pipeline_in_cross_val_score():
    *_, scores = _scored_pipeline(ConditionalVAEOverSampler(latent_dim=4, epochs=5, width=4, random_state=0))
    assert scores.mean() > 0.8


_CHECKED_CVAE = ConditionalVAEOverSampler(latent_dim=2, epochs=1, width=4, random_state=42)
_CHECKS_CVAE = list(_yield_all_checks(_CHECKED_CVAE, legacy=True))


@pytest.mark.parametrize("check", _CHECKS_CVAE, ids=[getattr(c, "func", c).__name__ for c in _CHECKS_CVAE])
def test_cvae_imblearn_sampler_checks(check):
    check(type(_CHECKED_CVAE).__name__, clone(_CHECKED_CVAE))
