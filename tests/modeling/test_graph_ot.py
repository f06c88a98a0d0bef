"""Graph OT distance (Eq. 7) against POT's exact solver, brute force and a slow numpy objective,
and the GraphOTLoss module."""

import itertools

import numpy as np
import ot
import pytest
import torch

from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.modeling.losses import G2DA_LOSS_REGISTRY
from g2da_plugin.modeling.losses.graph_ot import (cosine_cost, fused_gw_value, graph_ot_distance,
                                                  gw_loss_matrix, pot_square_plan, proximal_fgw_plan)
from g2da_plugin.data.batch_layout import PAIR_IR, PAIR_RGB, cross_modality_pairs
from g2da_plugin.modeling.losses.graph_ot_loss import GraphOTLoss
from tests.helpers import make_cfg

F64 = torch.float64


def ot_cfg(**ot_keys):
    """The plugin's config with ``MODEL.LOSSES.OT.<key>`` set from ``ot_keys``."""
    return make_cfg(overrides={f"MODEL.LOSSES.OT.{key}": value for key, value in ot_keys.items()})


_OT = ot_cfg().MODEL.LOSSES.OT
#: graph_ot_distance's solver arguments at the config's defaults (where the measurements quoted below were taken)
DEFAULT_SOLVER = {"phi": _OT.PHI, "gw_loss": _OT.GW_LOSS, "reg": _OT.REG, "max_iter": _OT.MAX_ITER,
                  "inner_iter": _OT.INNER_ITER, "tol": _OT.TOL, "solver": _OT.SOLVER}


def ot_distance(x, y, **changes):
    """:func:`graph_ot_distance` at :data:`DEFAULT_SOLVER`, with ``changes``."""
    return graph_ot_distance(x, y, **{**DEFAULT_SOLVER, **changes})


def randn(*shape, seed, dtype=F64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def permuted_copies(x, noise, seed):
    """IR graphs = the RGB graphs with their nodes shuffled (a different permutation per graph),
    plus noise: the best plan is that permutation, which both solvers must find."""
    gen = torch.Generator().manual_seed(seed)
    perms = [torch.randperm(x.shape[1], generator=gen) for _ in range(x.shape[0])]
    y = torch.stack([xb[p] for xb, p in zip(x, perms)])
    return y + noise * torch.randn(y.shape, generator=gen, dtype=x.dtype), perms


def shared_component_graphs(batch, nodes, dim, seed):
    """Post-ReLU node features sharing a per-image and a per-node component (like GAP features of
    one image), with a modality shift on the IR side: the well-conditioned regime of training."""
    img, node = randn(batch, 1, dim, seed=seed), randn(1, nodes, dim, seed=seed + 1)
    shift = randn(1, 1, dim, seed=seed + 2)
    x = torch.relu(img + node + randn(batch, nodes, dim, seed=seed + 3))
    y = torch.relu(img + node + shift + randn(batch, nodes, dim, seed=seed + 4))
    return x, y


def numpy_objective(x, y, plan, phi, gw_loss):
    """phi sum T_ij C_ij + (1 - phi) sum_{i,k,j,l} T_ij T_kl L(CX_ik, CY_jl), with explicit loops."""
    def cos_dist(a, b):
        return 1.0 - (a @ b.T) / np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))

    loss = {"abs": lambda p, q: abs(p - q), "square": lambda p, q: (p - q) ** 2}[gw_loss]
    c, cx, cy = cos_dist(x, y), cos_dist(x, x), cos_dist(y, y)
    n, m = c.shape
    gromov = sum(plan[i, j] * plan[k, l] * loss(cx[i, k], cy[j, l])
                 for i in range(n) for j in range(m) for k in range(n) for l in range(m))
    return phi * float((plan * c).sum()) + (1 - phi) * gromov


def pot_exact_fgw(x, y, phi, G0=None):
    """POT's exact (conditional-gradient) fused GW value per pair, square loss."""
    c, cx, cy = (t.numpy() for t in (cosine_cost(x, y), cosine_cost(x, x), cosine_cost(y, y)))
    return np.array([ot.gromov.fused_gromov_wasserstein2(c[b], cx[b], cy[b], loss_fun="square_loss",
                                                         alpha=1 - phi, G0=None if G0 is None else G0[b])
                     for b in range(len(c))])


# ------------------------------------------------------------------ agreement with POT (square loss)
def test_square_matches_pot_exact_on_permuted_graphs():
    # the optimum is the hidden permutation: POT's exact solver and ours reach the same vertex,
    # so the values agree to float64 rounding
    x = randn(6, 6, 16, seed=0)
    y, perms = permuted_copies(x, noise=0.05, seed=1)
    value, plan = ot_distance(x, y, gw_loss="square", return_plan=True)
    np.testing.assert_allclose(value.numpy(), pot_exact_fgw(x, y, 0.5), rtol=0, atol=1e-9)
    for b, p in enumerate(perms):
        expected = torch.zeros(6, 6, dtype=F64)
        expected[p, torch.arange(6)] = 1.0 / 6  # y_j = x_{p[j]}: node p[j] of X goes to node j of Y
        torch.testing.assert_close(plan[b], expected, rtol=0, atol=1e-9)


def test_square_close_to_pot_exact_on_feature_like_graphs():
    # No permutation hidden here, and both are local solvers of a non-convex problem; on such
    # well-conditioned graphs they reach the same stationary point (measured: 4e-12 apart on values
    # of ~0.17), so 1e-6 per pair. On unstructured low-dimensional graphs they may not: see the
    # brute-force test below.
    x, y = shared_component_graphs(6, 10, 64, seed=3)
    ours = ot_distance(x, y, gw_loss="square").numpy()
    np.testing.assert_allclose(ours, pot_exact_fgw(x, y, 0.5), rtol=0, atol=1e-6)


def test_hand_written_step_is_pots():
    # proximal_fgw_plan's step, run on the square-loss tensor, is POT's solve_gromov_batch step (same
    # start, same sweeps). Later steps differ slightly: ours warm-starts each Sinkhorn, POT's does not.
    x, y = shared_component_graphs(4, 7, 32, seed=5)
    c, cx, cy = cosine_cost(x, y), cosine_cost(x, x), cosine_cost(y, y)
    ours = proximal_fgw_plan(c, gw_loss_matrix(cx, cy, "square"), 0.5, reg=0.02, max_iter=1, inner_iter=10)
    pots = pot_square_plan(c, cx, cy, 0.5, reg=0.02, max_iter=1, inner_iter=10)
    torch.testing.assert_close(ours, pots, rtol=0, atol=1e-12)


def test_pot_solver_option_finds_the_permutation():
    x = randn(4, 6, 16, seed=25)
    y, _ = permuted_copies(x, noise=0.05, seed=26)
    pot = ot_distance(x, y, gw_loss="square", solver="pot")
    np.testing.assert_allclose(pot.numpy(), pot_exact_fgw(x, y, 0.5), rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="square"):
        ot_distance(x, y, gw_loss="abs", solver="pot")


# ------------------------------------------------------------------ node masses (nodes without support)
def test_zero_mass_nodes_by_hand():
    # X = {x0, x1}, Y = {y0, y1} with x1 and y1 massless: the only coupling is T = [[1, 0], [0, 0]],
    # so D = phi (1 - cos(x0, y0)) + (1 - phi) L(CX_00, CY_00) = 0.5 (1 - cos 45 deg) + 0.5 * 0
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=F64)
    y = torch.tensor([[[1.0, 1.0], [5.0, -3.0]]], dtype=F64)
    mass = torch.tensor([[1.0, 0.0]], dtype=F64)
    for gw_loss in ("abs", "square"):
        value, plan = ot_distance(x, y, gw_loss=gw_loss, mass_rgb=mass, mass_ir=mass, return_plan=True)
        assert value.item() == pytest.approx(0.5 * (1 - 2 ** -0.5), abs=1e-12)
        torch.testing.assert_close(plan[0], torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=F64), rtol=0, atol=1e-12)


def test_masses_are_renormalised_marginals_and_match_pot():
    # weights (not summing to 1) become the marginals; POT's exact solver with the same marginals
    # reaches the hidden permutation's value
    x = randn(4, 6, 16, seed=40)
    y, perms = permuted_copies(x, noise=0.05, seed=41)
    keep = torch.tensor([1, 1, 0, 1, 1, 1], dtype=F64)
    mass_rgb = keep.expand(4, 6).clone()
    mass_ir = torch.stack([keep[torch.argsort(p)] for p in perms])  # the same nodes, where the permutation put them
    value, plan = ot_distance(x, y, gw_loss="square", mass_rgb=2.0 * mass_rgb, mass_ir=mass_ir, return_plan=True)
    torch.testing.assert_close(plan.sum(dim=2), mass_rgb / 5, rtol=0, atol=1e-12)
    torch.testing.assert_close(plan.sum(dim=1), mass_ir / 5, rtol=0, atol=1e-12)
    c, cx, cy = (t.numpy() for t in (cosine_cost(x, y), cosine_cost(x, x), cosine_cost(y, y)))
    pot = [ot.gromov.fused_gromov_wasserstein2(c[b], cx[b], cy[b], (mass_rgb[b] / 5).numpy(), (mass_ir[b] / 5).numpy(),
                                               loss_fun="square_loss", alpha=0.5) for b in range(4)]
    np.testing.assert_allclose(value.numpy(), pot, rtol=0, atol=1e-9)
    for solver in ("proximal", "pot"):
        assert torch.allclose(ot_distance(x, y, gw_loss="square", solver=solver, mass_rgb=mass_rgb,
                                          mass_ir=mass_ir), value, rtol=0, atol=1e-8)


@pytest.mark.parametrize("gw_loss", ["abs", "square"])
def test_massless_nodes_are_as_if_removed(gw_loss):
    # a node without mass changes nothing, whatever its feature (here the zero vector of a cropped part)
    x, y = shared_component_graphs(3, 6, 32, seed=43)
    x_zero, y_zero = x.clone(), y.clone()
    x_zero[:, 4], y_zero[:, 1] = 0.0, 0.0
    mass_x, mass_y = torch.ones(3, 6, dtype=F64), torch.ones(3, 6, dtype=F64)
    mass_x[:, 4], mass_y[:, 1] = 0.0, 0.0
    masked = ot_distance(x_zero, y_zero, gw_loss=gw_loss, mass_rgb=mass_x, mass_ir=mass_y)
    removed = ot_distance(x[:, [0, 1, 2, 3, 5]], y[:, [0, 2, 3, 4, 5]], gw_loss=gw_loss)
    torch.testing.assert_close(masked, removed, rtol=0, atol=1e-9)
    unmasked = ot_distance(x_zero, y_zero, gw_loss=gw_loss)
    assert (unmasked - removed).abs().min() > 1e-3  # the zero nodes do weigh in without the masses


# ------------------------------------------------------------------ the paper's |a - b| loss
def test_abs_value_is_the_objective_at_a_valid_coupling():
    x, y = randn(3, 5, 8, seed=7), randn(3, 5, 8, seed=8)
    value, plan = ot_distance(x, y, phi=0.3, gw_loss="abs", return_plan=True)
    assert (plan >= 0).all()
    torch.testing.assert_close(plan.sum(dim=2), torch.full((3, 5), 0.2, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(plan.sum(dim=1), torch.full((3, 5), 0.2, dtype=F64), rtol=0, atol=1e-12)
    for b in range(3):
        expected = numpy_objective(x[b].numpy(), y[b].numpy(), plan[b].numpy(), 0.3, "abs")
        assert value[b].item() == pytest.approx(expected, abs=1e-12)
        product_plan = np.full((5, 5), 1 / 25)
        assert value[b].item() < numpy_objective(x[b].numpy(), y[b].numpy(), product_plan, 0.3, "abs") - 1e-3


def best_permutation_value(x, y, phi):
    n = x.shape[0]
    return min(numpy_objective(x, y, np.eye(n)[list(p)] / n, phi, "abs") for p in itertools.permutations(range(n)))


def test_abs_reaches_brute_force_optimum_on_permuted_graphs():
    x = randn(4, 4, 6, seed=9)
    y, _ = permuted_copies(x, noise=0.1, seed=10)
    value = ot_distance(x, y, gw_loss="abs")
    for b in range(4):
        assert value[b].item() == pytest.approx(best_permutation_value(x[b].numpy(), y[b].numpy(), 0.5), abs=1e-9)


def test_abs_close_to_brute_force_on_random_tiny_graphs():
    # The optimum over couplings is at most the best permutation plan's value (a permutation / N is a
    # coupling). The solver is local, and 4-node graphs in 5-d (costs spread over [0, 2]) are its
    # hard case: measured at the defaults, 35% of the pairs stop above the best permutation, by
    # 0.006 on average (values ~0.48; the product plan is 0.36 above). Bounds with some slack.
    x, y = randn(40, 4, 5, seed=11), randn(40, 4, 5, seed=12)
    value = ot_distance(x, y, gw_loss="abs").numpy()
    best = np.array([best_permutation_value(x[b].numpy(), y[b].numpy(), 0.5) for b in range(40)])
    gap = value - best
    assert gap.min() > -1e-9  # and none is below: the rounded plan is a coupling, the value exact
    assert np.mean(gap > 1e-9) <= 0.45
    assert gap.mean() < 0.012


# ------------------------------------------------------------------ invariances and degenerate input
@pytest.mark.parametrize("gw_loss", ["abs", "square"])
def test_node_relabelling_leaves_value_unchanged(gw_loss):
    x, y = shared_component_graphs(4, 8, 32, seed=13)
    gen = torch.Generator().manual_seed(0)
    px, py = torch.randperm(8, generator=gen), torch.randperm(8, generator=gen)
    a = ot_distance(x, y, gw_loss=gw_loss)
    b = ot_distance(x[:, px], y[:, py], gw_loss=gw_loss)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_identical_graphs_give_zero_and_less_than_unrelated():
    x = randn(4, 14, 64, seed=14, dtype=torch.float32)
    same = ot_distance(x, x)
    rescaled = ot_distance(x, 3.0 * x)  # cosine costs ignore the scale
    unrelated = ot_distance(x, randn(4, 14, 64, seed=15, dtype=torch.float32))
    assert same.abs().max() < 1e-5 and rescaled.abs().max() < 1e-5
    assert (unrelated > 0.1).all()


@pytest.mark.parametrize("case", ["zero_rgb", "both_zero", "identical", "zero_node"])
@pytest.mark.parametrize("gw_loss", ["abs", "square"])
def test_degenerate_inputs_give_finite_values_and_gradients(case, gw_loss):
    y = randn(2, 5, 8, seed=16, dtype=torch.float32)
    x = {"zero_rgb": torch.zeros(2, 5, 8), "both_zero": torch.zeros(2, 5, 8), "identical": y.clone(),
         "zero_node": torch.cat([torch.zeros(2, 1, 8), y[:, 1:]], dim=1)}[case]
    if case == "both_zero":
        y = torch.zeros(2, 5, 8)
    x.requires_grad_(True)
    y.requires_grad_(True)
    value = ot_distance(x, y, gw_loss=gw_loss)
    value.sum().backward()
    assert torch.isfinite(value).all()
    assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    if case == "both_zero":  # all costs are 1 - 0 = 1, the edges agree: phi * 1
        torch.testing.assert_close(value, torch.full((2,), 0.5))


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("gw_loss", ["abs", "square"])
def test_gradcheck_with_plan_held_fixed(gw_loss):
    x, y = randn(2, 4, 5, seed=17), randn(2, 4, 5, seed=18)
    _, plan = ot_distance(x, y, gw_loss=gw_loss, return_plan=True)

    def value_at_plan(x, y):
        c, cx, cy = cosine_cost(x, y), cosine_cost(x, x), cosine_cost(y, y)
        return fused_gw_value(c, gw_loss_matrix(cx, cy, gw_loss), plan, 0.5)

    assert torch.autograd.gradcheck(value_at_plan, (x.requires_grad_(), y.requires_grad_()))
    # and graph_ot_distance's gradient is that one (the envelope gradient)
    grads = torch.autograd.grad(ot_distance(x, y, gw_loss=gw_loss).sum(), (x, y))
    expected = torch.autograd.grad(value_at_plan(x, y).sum(), (x, y))
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e)


def test_envelope_gradient_matches_finite_differences_of_the_minimum():
    # where the optimal plan is unique and stable (a permutation), d/dt min_T f(x + t h, T) equals
    # the derivative at the fixed optimal plan: finite differences that RE-SOLVE must match autograd
    x = randn(3, 6, 10, seed=19)
    y, _ = permuted_copies(x, noise=0.2, seed=20)
    h = randn(3, 6, 10, seed=21)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(ot_distance(x, y).sum(), x)
    t = 1e-6
    with torch.no_grad():
        fd = (ot_distance(x + t * h, y).sum() - ot_distance(x - t * h, y).sum()) / (2 * t)
    assert fd.item() == pytest.approx((grad * h).sum().item(), rel=1e-6)


# ------------------------------------------------------------------ precision and arguments
def test_runs_in_float32_under_autocast():
    x, y = randn(3, 14, 32, seed=22, dtype=torch.float32), randn(3, 14, 32, seed=23, dtype=torch.float32)
    reference = ot_distance(x, y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = ot_distance(x.bfloat16(), y.bfloat16())
    assert value.dtype == torch.float32
    # bf16 inputs (3 significant digits) move the costs, not the solver's precision
    torch.testing.assert_close(value, reference, rtol=0, atol=2e-3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="must be"):
        ot_distance(torch.zeros(2, 3, 4), torch.zeros(3, 3, 4))
    with pytest.raises(ValueError, match="gw_loss"):
        ot_distance(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), gw_loss="kl")


def test_solver_settings_are_required_keywords():
    x = torch.zeros(1, 3, 4)
    with pytest.raises(TypeError, match="phi"):
        graph_ot_distance(x, x)
    with pytest.raises(TypeError, match="positional"):
        graph_ot_distance(x, x, *DEFAULT_SOLVER.values())


# ------------------------------------------------------------------ the loss module
def sampler_batch(ids=8, per_modality=4, dim=16, nodes=14, seed=24):
    """A P x (4 RGB + 4 IR) batch, shuffled: the loss must not rely on the order."""
    targets = torch.arange(ids).repeat_interleave(2 * per_modality)
    modalities = torch.tensor(([RGB] * per_modality + [IR] * per_modality) * ids)
    order = torch.randperm(len(targets), generator=torch.Generator().manual_seed(seed))
    return {"nodes": randn(len(targets), nodes, dim, seed=seed, dtype=torch.float32),
            "targets": targets[order], "modalities": modalities[order]}


def pairs(batch):
    found = cross_modality_pairs(batch["targets"], batch["modalities"])
    return found[PAIR_RGB], found[PAIR_IR]


def test_pairs_are_every_same_identity_rgb_ir_pair():
    out = sampler_batch()
    rgb, ir = pairs(out)
    t, m = out["targets"].tolist(), out["modalities"].tolist()
    expected = {(i, j) for i in range(64) for j in range(64) if t[i] == t[j] and m[i] == RGB and m[j] == IR}
    assert len(expected) == 128
    assert set(zip(rgb.tolist(), ir.tolist())) == expected and len(rgb) == 128


def test_module_is_scaled_mean_over_pairs():
    out = sampler_batch(ids=3, per_modality=2)
    loss = G2DA_LOSS_REGISTRY.get("GraphOTLoss")(ot_cfg(SCALE=2.0))
    pairs = [(i, j) for i in range(12) for j in range(12) if out["targets"][i] == out["targets"][j]
             and out["modalities"][i] == RGB and out["modalities"][j] == IR]
    assert len(pairs) == 12
    distances = ot_distance(out["nodes"][[i for i, _ in pairs]], out["nodes"][[j for _, j in pairs]])
    result = loss(out)
    assert set(result) == {"loss_ot"}
    assert result["loss_ot"].item() == pytest.approx(2.0 * distances.mean().item(), rel=1e-5)


def test_module_config_reaches_the_solver():
    out = sampler_batch(ids=2, per_modality=2)
    default = GraphOTLoss(ot_cfg())(out)["loss_ot"]
    only_nodes = GraphOTLoss(ot_cfg(PHI=1.0))(out)["loss_ot"]  # phi = 1: plain OT on the costs
    rgb, ir = pairs(out)
    c = cosine_cost(out["nodes"][rgb], out["nodes"][ir])
    exact_ot = np.mean([ot.emd2(np.full(14, 1 / 14), np.full(14, 1 / 14), cb.double().numpy()) for cb in c])
    # with phi = 1 the proximal steps anneal an entropic OT (reg / steps = 1e-3 after 20 steps): a
    # small upward bias, measured 5e-4 relative here
    assert only_nodes.item() == pytest.approx(exact_ot, rel=3e-3)
    assert abs(only_nodes.item() - default.item()) > 0.1


@pytest.mark.parametrize("solver", ["proximal", "pot"])
def test_every_ot_key_reaches_the_solver(solver):
    # every key away from its default; the module must give SCALE x the mean distance at exactly these settings
    out = sampler_batch(ids=2, per_modality=2)
    keys = {"PHI": 0.3, "GW_LOSS": "square", "REG": 0.05, "MAX_ITER": 7, "INNER_ITER": 2, "TOL": 1e-3,
            "SOLVER": solver, "SCALE": 3.0}
    assert all(value != _OT[key] for key, value in keys.items() if key != "SOLVER")
    rgb, ir = pairs(out)
    expected = 3.0 * graph_ot_distance(out["nodes"][rgb], out["nodes"][ir], phi=0.3, gw_loss="square", reg=0.05,
                                       max_iter=7, inner_iter=2, tol=1e-3, solver=solver).mean()
    assert GraphOTLoss(ot_cfg(**keys))(out)["loss_ot"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_module_gives_unsupported_nodes_no_mass():
    out = sampler_batch(ids=2, per_modality=2)
    support = torch.ones(8, 14)
    support[::3, 5:9] = 0.0
    rgb, ir = pairs(out)
    expected = ot_distance(out["nodes"][rgb], out["nodes"][ir], mass_rgb=support[rgb], mass_ir=support[ir]).mean()
    result = GraphOTLoss(ot_cfg())({**out, "node_support": support})["loss_ot"]
    assert result.item() == pytest.approx(expected.item(), rel=1e-6)
    assert abs(result.item() - GraphOTLoss(ot_cfg())(out)["loss_ot"].item()) > 1e-4


def test_module_logs_the_value_and_the_plans_diagonal():
    from fastreid.utils.events import EventStorage
    out = sampler_batch(ids=3, per_modality=1)
    rgb, ir = pairs(out)
    out["nodes"][ir] = out["nodes"][rgb]  # each IR graph repeats its RGB one: the plans are diagonal
    with EventStorage() as storage:
        loss = GraphOTLoss(ot_cfg(SCALE=3.0))(out)["loss_ot"]
    logged = {name: value for name, (value, _) in storage.latest().items()}
    assert logged["ot_value"] == pytest.approx(loss.item() / 3.0, rel=1e-6)
    assert logged["ot_plan_diagonal"] == pytest.approx(1.0, abs=1e-6)


def test_module_without_pairs_returns_connected_zero():
    out = sampler_batch(ids=2, per_modality=2)
    out["modalities"] = torch.full_like(out["modalities"], RGB)
    out["nodes"].requires_grad_(True)
    value = GraphOTLoss(ot_cfg())(out)["loss_ot"]
    value.backward()
    assert value.item() == 0.0 and torch.equal(out["nodes"].grad, torch.zeros_like(out["nodes"]))


def test_module_needs_nodes():
    out = sampler_batch(ids=2, per_modality=2)
    del out["nodes"]
    with pytest.raises(KeyError, match="skeleton-graph node features.*pose-part"):
        GraphOTLoss(ot_cfg())(out)


def test_module_rejects_bad_config():
    with pytest.raises(ValueError, match="GW_LOSS"):
        GraphOTLoss(ot_cfg(GW_LOSS="l1"))
    with pytest.raises(ValueError, match="PHI"):
        GraphOTLoss(ot_cfg(PHI=1.5))
    with pytest.raises(ValueError, match="SOLVER"):
        GraphOTLoss(ot_cfg(SOLVER="pot"))  # POT's solver has no |a - b| loss
