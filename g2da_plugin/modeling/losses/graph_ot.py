"""Graph Optimal Transport distance (G2DA Eq. 7) between batches of RGB and IR skeleton graphs.

For an RGB graph X (N nodes) and an IR graph Y (M nodes), with node masses u (N,) and v (M,), each
summing to 1 (uniform, 1/N and 1/M, unless given; a node of mass 0 takes no part in the plan):

    D_ot = min_{T in Pi(u, v)}  phi * sum_ij T_ij C_ij  +  (1 - phi) * sum_{i,k,j,l} T_ij T_kl L(CX_ik, CY_jl)

C_ij = 1 - cos(x_i, y_j) (cross-modality cost), CX, CY the same cosine distance inside each graph
(intra-modality costs, the graphs' "edges"), L(a, b) = |a - b| (``gw_loss="abs"``, the paper's) or
(a - b)^2 (``"square"``). One plan T serves both terms (a fused Gromov-Wasserstein problem).

Solver: the KL-proximal gradient (mirror descent) scheme of POT's ``ot.solve_gromov_batch``,
T_{t+1} = argmin_T <G_t, T> + reg * KL(T | T_t) over Pi(u, v), G_t = phi C + 2 (1 - phi) L(x)T_t the
objective's gradient, each step a Sinkhorn projection. ``reg`` is a step size (a proximal
term towards the previous plan), NOT an entropic penalty on the objective: the fixed points are
stationary points of the unregularised problem, so the value carries no entropic bias. The final
plan is rounded to an exact coupling, so the value is the objective at a feasible plan.

- ``solver="proximal"`` (default, both losses): that iteration written here. Why hand-written: POT's
  batched solver only takes the "sqeuclidean"/"kl" losses (its tensor product needs
  L(a,b) = f1(a) + f2(b) - h1(a) h2(b), which |a - b| is not), and it restarts every Sinkhorn from
  zero, which once the plans are nearly sparse leaves the rows off their marginals (4% with 10
  sweeps on feature-like graphs; ~1000 sweeps to match). Here each Sinkhorn starts from the previous
  step's scalings, runs a fixed number of two-kernel sweeps in float64 (no host sync: the GPU loop
  just queues; :func:`proximal_fgw_plan` says why float64 needs no log domain), and L(x)T is an
  explicit (B, NM, NM) x (B, NM) product (128 pairs x 14^4 = 4.9M entries).
- ``solver="pot"`` (square loss only): ``ot.solve_gromov_batch`` itself.

Gradients (envelope theorem): the plan is computed without gradient and held fixed, and the value
phi <C, T> + (1 - phi) <L(x)T, T> is differentiated through the costs only. Costs and value run in
float32 (float64 inputs stay float64), the proximal solver's plan in float64, with autocast off:
half-precision costs and Sinkhorn kernels would lose most of the digits the solver works with.
"""

import math

import ot
import torch
import torch.nn.functional as F

GW_LOSSES = ("abs", "square")
SOLVERS = ("proximal", "pot")


def cosine_cost(x, y, eps=1e-8):
    """(B, N, M) cosine distances 1 - cos(x_i, y_j) of (B, N, d) and (B, M, d); a zero vector has
    cosine 0 with everything (the eps in the normalisation keeps it and its gradient finite)."""
    return 1.0 - F.normalize(x, dim=-1, eps=eps) @ F.normalize(y, dim=-1, eps=eps).transpose(1, 2)


def gw_loss_matrix(cx, cy, gw_loss="abs"):
    """The GW cost tensor as a (B, N*M, N*M) matrix: entry [(i, j), (k, l)] = L(CX_ik, CY_jl), so that
    (L(x)T)_ij = sum_kl L[(i,j), (k,l)] T_kl is a batched matrix-vector product."""
    b, n, m = cx.shape[0], cx.shape[1], cy.shape[1]
    diff = cx[:, :, None, :, None] - cy[:, None, :, None, :]  # (B, i, j, k, l)
    if gw_loss == "abs":
        loss = diff.abs()
    elif gw_loss == "square":
        loss = diff.square()
    else:
        raise ValueError(f"gw_loss must be one of {GW_LOSSES}, got {gw_loss!r}")
    return loss.reshape(b, n * m, n * m)


def fused_gw_value(cost, gw_matrix, plan, phi):
    """(B,) objective phi <C, T> + (1 - phi) <L(x)T, T> at a given plan (differentiable in C and L)."""
    vec = plan.flatten(1)
    wasserstein = (cost * plan).sum(dim=(1, 2))
    gromov = (vec * torch.bmm(gw_matrix, vec.unsqueeze(-1)).squeeze(-1)).sum(dim=1)
    return phi * wasserstein + (1.0 - phi) * gromov


# The plan's log is floored at -60 between steps: e^-60 ~ 1e-26 is negligible as a plan entry (the
# plan has mass 1), and a row of log zeros would make the next step's kernel undefined.
LOG_FLOOR = -60.0


def round_to_coupling(plan, a, b):
    """The nearby exact coupling of Altschuler et al. (NeurIPS 2017, Alg. 2): scale down the rows,
    then the columns, that carry too much mass, and give the missing mass back as a rank-one plan."""
    tiny = torch.finfo(plan.dtype).tiny  # an empty row or column of a zero-mass node scales by 0, not 0/0
    plan = plan * (a / plan.sum(dim=2).clamp_min(tiny)).clamp(max=1.0)[:, :, None]
    plan = plan * (b / plan.sum(dim=1).clamp_min(tiny)).clamp(max=1.0)[:, None, :]
    missing_a, missing_b = a - plan.sum(dim=2), b - plan.sum(dim=1)
    total = missing_a.sum(dim=1).clamp_min(tiny)
    return plan + missing_a[:, :, None] * missing_b[:, None, :] / total[:, None, None]


def node_masses(mass, batch, nodes, like):
    """(B, nodes) marginals: ``mass`` (B, nodes) non-negative weights scaled to sum 1, or uniform."""
    if mass is None:
        return like.new_full((batch, nodes), 1.0 / nodes)
    mass = mass.to(like.dtype)
    return mass / mass.sum(dim=1, keepdim=True)


def proximal_fgw_plan(cost, gw_matrix, phi, reg, max_iter, inner_iter, tol=0.0, a=None, b=None):
    """Plans (B, N, M) with marginals ``a`` (B, N) and ``b`` (B, M) (uniform when None), minimising
    :func:`fused_gw_value` by KL-proximal gradient steps (POT's ``solve_gromov_batch`` iteration, any GW cost matrix), rounded to exact couplings.

    Step t: the kernel T_t * exp(-G_t / reg) (one ``baddbmm`` for G_t's Gromov part), shifted by its
    row maxima, then ``inner_iter`` Sinkhorn sweeps u = a / Kv, v = b / K'u, each two kernels: about
    20 kernels a step where log-domain sweeps take 60. The sweeps run in float64, whose range holds
    every kernel entry the floored plan and a bounded gradient give (e^-210 at worst against e^-708),
    so no log domain is needed. Each Sinkhorn starts from the previous step's column scaling: near a
    fixed point every step needs scalings of size |gradient| / reg, which from 1 would take many
    sweeps once the plans are nearly sparse. ``tol > 0`` stops once the mean absolute change of every
    plan over one step is below tol, tested every 10 steps only (a host sync). A zero-mass node's
    row (column) of the plan is zero from the start: its scaling u (v) is 0 in every sweep."""
    out_dtype = cost.dtype
    cost, gw_matrix = cost.double(), gw_matrix.double()
    batch, n, m = cost.shape
    a_col = node_masses(a, batch, n, cost).unsqueeze(2)
    b_col = node_masses(b, batch, m, cost).unsqueeze(2)
    node_term = cost.reshape(batch, n * m, 1) * (phi / reg)
    edge_term = gw_matrix * (-2.0 * (1.0 - phi) / reg)  # 2 L(x)T: L is symmetric, as CX and CY are
    plan = (a_col * b_col.transpose(1, 2)).view(batch, n * m, 1)  # the independent coupling
    v = torch.ones_like(b_col)
    for step in range(max_iter):
        log_kernel = torch.baddbmm(plan.clamp_min(math.exp(LOG_FLOOR)).log() - node_term, edge_term,
                                   plan).view(batch, n, m)
        kernel = (log_kernel - log_kernel.amax(dim=2, keepdim=True)).exp()
        for _ in range(inner_iter):
            u = a_col / torch.bmm(kernel, v)
            v = b_col / torch.bmm(kernel.transpose(1, 2), u)
        previous, plan = plan, (u * kernel * v.transpose(1, 2)).view(batch, n * m, 1)
        if tol > 0 and step % 10 == 9:
            if (plan - previous).abs().mean(dim=(1, 2)).max() < tol:
                break
    return round_to_coupling(plan.view(batch, n, m), a_col.squeeze(2), b_col.squeeze(2)).to(out_dtype)


def pot_square_plan(cost, cx, cy, phi, reg, max_iter, inner_iter, tol=0.0, a=None, b=None):
    """Plans from POT's ``ot.solve_gromov_batch`` with the square loss (``alpha`` = 1 - phi weights
    its GW term), ``inner_iter`` Sinkhorn sweeps per step (tol_inner=0), rounded to exact couplings."""
    batch, n, m = cost.shape
    a, b = node_masses(a, batch, n, cost), node_masses(b, batch, m, cost)
    # POT's log-domain Sinkhorn takes log(a): a zero mass gives NaN, a 1e-30 one a row the rounding zeroes
    res = ot.solve_gromov_batch(cx, cy, reg=reg, a=a.clamp_min(1e-30), b=b.clamp_min(1e-30), M=cost,
                                alpha=1.0 - phi, loss="sqeuclidean",
                                symmetric=True, max_iter=max_iter, tol=tol,
                                max_iter_inner=inner_iter, tol_inner=0.0, grad="detach")
    return round_to_coupling(res.plan, a, b)


def graph_ot_distance(x_rgb, x_ir, *, phi, gw_loss, reg, max_iter, inner_iter, tol, solver, eps=1e-8,
                      mass_rgb=None, mass_ir=None, return_plan=False):
    """Batched GOT distance (Eq. 7) of graph pairs ``(x_rgb[b], x_ir[b])``, one solve for all pairs.

    The solver's arguments are ``MODEL.LOSSES.OT``'s keys (:func:`g2da_plugin.config.add_g2da_config`
    holds their defaults).

    Args:
        x_rgb: (B, N, d) node features of the RGB graphs.
        x_ir: (B, M, d) node features of the IR graphs.
        phi: weight of the Wasserstein (node) term; 1 - phi weights the Gromov (edge) term.
        gw_loss: "abs" (|a - b|, the paper's) or "square" ((a - b)^2).
        reg: proximal step parameter of the solver (smaller = longer steps), in cost units.
        max_iter: proximal steps; inner_iter: Sinkhorn sweeps per step.
        tol: > 0 stops once every plan changes by less than tol (mean |dT|) in a step (a host
            sync); 0 always runs max_iter steps.
        solver: "proximal" (written here) or "pot" (``ot.solve_gromov_batch``, square loss only).
        eps: floor of the norms in the cosine.
        mass_rgb, mass_ir: (B, N) and (B, M) non-negative node weights, scaled to sum 1 per graph
            (each graph needs one positive): the marginals; None: uniform. A node of weight 0 gets
            no mass, so it neither moves mass nor enters the Gromov term.
        return_plan: also return the (B, N, M) plans (no gradient).
    Returns:
        (B,) distances (float32, or float64 for float64 inputs), differentiable w.r.t. the inputs
        with the plans held fixed; with ``return_plan``, ``(distances, plans)``.
    """
    if x_rgb.dim() != 3 or x_ir.dim() != 3 or x_rgb.shape[0] != x_ir.shape[0] \
            or x_rgb.shape[2] != x_ir.shape[2]:
        raise ValueError(f"x_rgb and x_ir must be (B, N, d) and (B, M, d), got {tuple(x_rgb.shape)} "
                         f"and {tuple(x_ir.shape)}")
    if solver not in SOLVERS or (solver == "pot" and gw_loss != "square"):
        raise ValueError(f"solver must be one of {SOLVERS} ('pot' with gw_loss='square' only), got "
                         f"solver={solver!r}, gw_loss={gw_loss!r}")
    dtype = torch.promote_types(torch.promote_types(x_rgb.dtype, x_ir.dtype), torch.float32)
    with torch.autocast(device_type=x_rgb.device.type, enabled=False):
        x, y = x_rgb.to(dtype), x_ir.to(dtype)
        cost, cx, cy = cosine_cost(x, y, eps), cosine_cost(x, x, eps), cosine_cost(y, y, eps)
        gw_matrix = gw_loss_matrix(cx, cy, gw_loss)
        with torch.no_grad():
            if solver == "pot":
                plan = pot_square_plan(cost.detach(), cx.detach(), cy.detach(), phi, reg,
                                       max_iter, inner_iter, tol, mass_rgb, mass_ir)
            else:
                plan = proximal_fgw_plan(cost.detach(), gw_matrix.detach(), phi, reg, max_iter,
                                         inner_iter, tol, mass_rgb, mass_ir)
        value = fused_gw_value(cost, gw_matrix, plan, phi)
    return (value, plan) if return_plan else value
