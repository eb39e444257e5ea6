import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imbsk.losses import (
    LOSSES,
    BalancedSoftmaxLoss,
    ClassBalancedLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    class_weights,
    get_loss,
    ldam_margins,
)

COUNTS = [500, 120, 30, 5]


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(16, 4, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 4, (16,), generator=gen)
    return logits.requires_grad_(), target


def softmax_np(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- class_weights -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["inverse", "sqrt_inverse", "effective"])
def test_class_weights_sum_and_order(kind):
    w = class_weights(COUNTS, kind=kind)
    assert w.dtype == np.float64
    assert w.sum() == pytest.approx(len(COUNTS))
    # Rarer classes weigh strictly more.
    assert np.all(np.diff(w) > 0)


def test_class_weights_formulas():
    n = np.array(COUNTS, dtype=float)
    expected = {
        "inverse": 1 / n,
        "sqrt_inverse": 1 / np.sqrt(n),
        "effective": (1 - 0.99) / (1 - 0.99**n),
    }
    for kind, raw in expected.items():
        w = class_weights(COUNTS, kind=kind, beta=0.99)
        np.testing.assert_allclose(w, raw * len(n) / raw.sum())


def test_effective_weights_limits():
    np.testing.assert_allclose(class_weights(COUNTS, "effective", beta=0.0), np.ones(4))
    # beta -> 1 tends to inverse frequency.
    np.testing.assert_allclose(class_weights(COUNTS, "effective", beta=1 - 1e-9), class_weights(COUNTS), rtol=1e-5)


def test_class_weights_zero_count_and_input_untouched():
    counts = np.array([10, 0, 40])
    w = class_weights(counts)
    assert w[1] == 0 and w.sum() == pytest.approx(3) and w[0] == pytest.approx(4 * w[2])
    np.testing.assert_array_equal(counts, [10, 0, 40])


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"class_counts": [3, -1]}, "class_counts"),
        ({"class_counts": [[3, 1]]}, "class_counts"),
        ({"class_counts": []}, "class_counts"),
        ({"class_counts": [0, 0]}, "class_counts"),
        ({"class_counts": ["a", "b"]}, "class_counts"),
        ({"class_counts": [3, 1], "kind": "log"}, "kind"),
        ({"class_counts": [3, 1], "kind": "effective", "beta": 1.0}, "beta"),
    ],
)
def test_class_weights_bad_arguments(kwargs, param):
    with pytest.raises(ValueError, match=rf"^{param} must .*got"):
        class_weights(**kwargs)


# --- focal / class-balanced --------------------------------------------------------------------------


def test_focal_gamma_zero_is_cross_entropy(batch):
    logits, target = batch
    assert torch.allclose(FocalLoss(gamma=0)(logits, target), F.cross_entropy(logits, target))
    w = class_weights(COUNTS)
    weighted = F.cross_entropy(logits, target, weight=torch.as_tensor(w))
    assert torch.allclose(FocalLoss(gamma=0, weight=w)(logits, target), weighted)
    # The gamma > 0 code path with gamma -> 0 meets the same value.
    assert torch.allclose(FocalLoss(gamma=1e-9, weight=w)(logits, target), weighted)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_matches_formula(batch, gamma):
    logits, target = batch
    w = class_weights(COUNTS, "sqrt_inverse")
    p = softmax_np(logits.detach().numpy())[np.arange(16), target.numpy()]
    per_sample = -w[target.numpy()] * (1 - p) ** gamma * np.log(p)
    loss = FocalLoss(gamma=gamma, weight=w)
    assert loss(logits, target).item() == pytest.approx(per_sample.sum() / w[target.numpy()].sum())
    none = FocalLoss(gamma=gamma, weight=w, reduction="none")(logits, target)
    np.testing.assert_allclose(none.detach().numpy(), per_sample)
    assert FocalLoss(gamma=gamma, reduction="sum")(logits, target).item() == pytest.approx(
        (-(1 - p) ** gamma * np.log(p)).sum()
    )


def test_focal_stable_and_finite_gradient():
    logits = torch.tensor([[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]], requires_grad=True)
    target = torch.tensor([0, 0, 1])
    for gamma in [0.0, 0.5, 2.0]:
        loss = FocalLoss(gamma=gamma)(logits, target)
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()


def test_class_balanced_is_effective_weighted_focal(batch):
    logits, target = batch
    cb = ClassBalancedLoss(COUNTS, beta=0.999, gamma=1.0)
    w = class_weights(COUNTS, "effective", beta=0.999)
    np.testing.assert_allclose(cb.weight.numpy(), w, rtol=1e-6)
    assert torch.allclose(cb(logits, target), FocalLoss(gamma=1.0, weight=w)(logits, target))
    ce = ClassBalancedLoss(COUNTS, beta=0.999)
    assert torch.allclose(ce(logits, target), F.cross_entropy(logits, target, weight=torch.as_tensor(w)), atol=1e-6)


# --- LDAM --------------------------------------------------------------------------------------------


def test_ldam_margins():
    m = ldam_margins(COUNTS, max_margin=0.7)
    assert m.max() == pytest.approx(0.7) and m.argmax() == 3
    n = np.array(COUNTS, dtype=float)
    # m_k * n_k^(1/4) is the same constant for every class.
    np.testing.assert_allclose(m * n**0.25, np.full(4, 0.7 * 5**0.25))
    loss = LDAMLoss(COUNTS, max_margin=0.7)
    np.testing.assert_allclose(loss.margins.numpy(), m, rtol=1e-6)


def test_ldam_loss_value(batch):
    logits, target = batch
    w = class_weights(COUNTS)
    loss = LDAMLoss(COUNTS, max_margin=0.5, scale=10.0, weight=w)
    m = ldam_margins(COUNTS, 0.5)
    z = logits.detach().numpy().copy()
    z[np.arange(16), target.numpy()] -= m[target.numpy()]
    p = softmax_np(10.0 * z)[np.arange(16), target.numpy()]
    wt = w[target.numpy()]
    assert loss(logits, target).item() == pytest.approx((-wt * np.log(p)).sum() / wt.sum())
    # The margin makes the loss larger than plain scaled cross-entropy.
    assert loss(logits, target) > F.cross_entropy(10 * logits, target, weight=torch.as_tensor(w))


def test_ldam_with_cosine_logits_bounded_by_scale():
    from imbsk.models import NormedLinear

    torch.manual_seed(0)
    cos = NormedLinear(16, 4)(100 * torch.randn(32, 16))
    assert cos.abs().max() <= 1 + 1e-6
    loss = LDAMLoss(COUNTS, scale=30.0)
    assert (loss.scale * cos).abs().max() <= 30.0 + 1e-4
    # Bounded logits bound the loss: at worst the true class has -s - m and all others +s.
    target = torch.zeros(32, dtype=torch.long)
    bound = np.log(1 + 3 * np.exp(30 * (2 + loss.margins[0].item())))
    assert loss(cos, target).item() <= bound


# --- logit adjustment / balanced softmax -------------------------------------------------------------


def test_balanced_softmax_is_ce_on_logits_plus_log_prior(batch):
    logits, target = batch
    prior = torch.as_tensor(np.array(COUNTS) / np.sum(COUNTS))
    expected = F.cross_entropy(logits + prior.log(), target)
    assert torch.allclose(BalancedSoftmaxLoss(COUNTS)(logits, target), expected)
    assert torch.allclose(LogitAdjustedLoss(COUNTS, tau=1.0)(logits, target), expected)


def test_logit_adjusted_tau(batch):
    logits, target = batch
    prior = torch.as_tensor(np.array(COUNTS) / np.sum(COUNTS))
    assert torch.allclose(LogitAdjustedLoss(COUNTS, tau=0.0)(logits, target), F.cross_entropy(logits, target))
    expected = F.cross_entropy(logits + 2.5 * prior.log(), target)
    assert torch.allclose(LogitAdjustedLoss(COUNTS, tau=2.5)(logits, target), expected)


def test_logit_adjusted_absent_class_is_finite():
    loss = LogitAdjustedLoss([10, 0, 30])
    logits = torch.zeros(4, 3, requires_grad=True)
    value = loss(logits, torch.tensor([0, 2, 2, 0]))
    (grad,) = torch.autograd.grad(value, logits)
    assert torch.isfinite(value) and torch.isfinite(grad).all()
    assert grad[:, 1].abs().max() < 1e-6


# --- shared behaviour --------------------------------------------------------------------------------


def every_loss():
    return [
        FocalLoss(gamma=2.0),
        ClassBalancedLoss(COUNTS, beta=0.99),
        LDAMLoss(COUNTS, scale=1.0),
        LogitAdjustedLoss(COUNTS, tau=0.5),
        BalancedSoftmaxLoss(COUNTS),
    ]


@pytest.mark.parametrize("loss", every_loss(), ids=lambda m: type(m).__name__)
def test_weight_is_reassignable(loss, batch):
    logits, target = batch
    logits = logits.float()
    target = target.clone()
    target[:4] = torch.arange(4)
    base = loss(logits, target)
    initial = None if loss.weight is None else loss.weight.clone()
    w = np.array([0.1, 1.0, 2.0, 3.0])
    loss.weight = w
    assert isinstance(loss.weight, torch.Tensor) and loss.weight.dtype == torch.float32
    assert "weight" in dict(loss.named_buffers())
    assert not torch.allclose(loss(logits, target), base)
    np.testing.assert_array_equal(w, [0.1, 1.0, 2.0, 3.0])
    loss.weight = initial
    assert torch.allclose(loss(logits, target), base)
    with pytest.raises(ValueError, match="weight"):
        loss.weight = [1.0, -1.0, 1.0, 1.0]


@pytest.mark.parametrize("loss", every_loss(), ids=lambda m: type(m).__name__)
def test_buffers_follow_to_and_state_dict(loss):
    loss.weight = class_weights(COUNTS)
    moved = loss.to(torch.float64)
    assert all(b.dtype == torch.float64 for b in moved.buffers())
    logits = torch.randn(6, 4, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    assert moved(logits, target).dtype == torch.float64 and moved(logits, target).ndim == 0
    assert "weight" in moved.state_dict()


def test_shape_and_class_mismatch_raise(batch):
    logits, target = batch
    with pytest.raises(ValueError, match="class_counts has 3 classes"):
        LDAMLoss([1, 2, 3])(logits, target)
    with pytest.raises(ValueError, match="shape"):
        FocalLoss()(logits, target[:5])
    with pytest.raises(ValueError, match="one entry per class"):
        LogitAdjustedLoss(COUNTS, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="weight has 2 entries"):
        FocalLoss(weight=[1.0, 2.0])(logits, target)


@pytest.mark.parametrize(
    "make, param",
    [
        (lambda: FocalLoss(gamma=-1), "gamma"),
        (lambda: FocalLoss(gamma=float("nan")), "gamma"),
        (lambda: FocalLoss(reduction="avg"), "reduction"),
        (lambda: ClassBalancedLoss(COUNTS, beta=1.5), "beta"),
        (lambda: LDAMLoss(COUNTS, max_margin=0), "max_margin"),
        (lambda: LDAMLoss(COUNTS, scale=-1), "scale"),
        (lambda: LDAMLoss([5, -1]), "class_counts"),
        (lambda: LogitAdjustedLoss(COUNTS, tau=-0.5), "tau"),
        (lambda: BalancedSoftmaxLoss("many"), "class_counts"),
        (lambda: get_loss("hinge"), "loss"),
        (lambda: get_loss("ldam"), "class_counts"),
    ],
)
def test_bad_arguments(make, param):
    with pytest.raises(ValueError, match=rf"^{param} (must|is required).*got"):
        make()


def test_get_loss():
    assert set(LOSSES) == {
        "ce", "weighted_ce", "focal", "class_balanced", "ldam", "logit_adjusted", "balanced_softmax"
    }
    assert isinstance(get_loss("cross_entropy", class_counts=COUNTS), torch.nn.CrossEntropyLoss)
    assert isinstance(get_loss("ce"), torch.nn.CrossEntropyLoss)
    weighted = get_loss("weighted_ce", class_counts=COUNTS)
    np.testing.assert_allclose(weighted.weight.numpy(), class_weights(COUNTS), rtol=1e-6)
    with pytest.raises(ValueError, match="class_counts is required"):
        get_loss("weighted_ce")
    assert get_loss("focal", gamma=1.0).gamma == 1.0
    assert get_loss("balanced_softmax", class_counts=COUNTS).tau == 1.0
    assert get_loss(LDAMLoss, class_counts=COUNTS, scale=5.0).scale == 5.0


def test_usable_as_skorch_criterion():
    from skorch import NeuralNetClassifier

    from imbsk.models import MLP

    rng = np.random.RandomState(0)
    X = rng.randn(60, 2).astype(np.float32)
    y = (X[:, 0] > 0.8).astype(np.int64)
    net = NeuralNetClassifier(
        MLP, module__n_features=2, module__hidden_sizes=(8,), criterion=LDAMLoss,
        criterion__class_counts=np.bincount(y), criterion__scale=1.0, max_epochs=2, train_split=None, verbose=0,
    )
    net.fit(X, y)
    assert np.isfinite(net.history[:, "train_loss"]).all()
    assert net.predict(X).shape == (60,)
