"""The OT-based dual-alignment loss lambda_o * D_ot (G2DA Eq. 7) on skeleton-graph nodes."""

from torch import nn

from fastreid.config import configurable

from ...data.batch_layout import PAIR_IR, PAIR_RGB, pairs_of
from ...utils.deferred_scalars import put_tensor_scalars
from ...utils.errors import InputError
from .build import G2DA_LOSS_REGISTRY
from .graph_ot import GW_LOSSES, SOLVERS, graph_ot_distance


def check_node_outputs(outputs, loss_name):
    """``(nodes (B, K+1, d), targets (B,), modalities (B,))`` from the model outputs, or a clear error."""
    if "nodes" not in outputs:
        raise KeyError(f"{loss_name} needs skeleton-graph node features outputs['nodes'] (B, K+1, d), "
                       f"which this meta-architecture does not produce (outputs: {sorted(outputs)}); "
                       "use a meta-architecture that builds the graphs, e.g. the pose-part model")
    for key in ("targets", "modalities"):
        if key not in outputs:
            raise KeyError(f"{loss_name} needs outputs[{key!r}] (outputs: {sorted(outputs)})")
    nodes, targets, modalities = outputs["nodes"], outputs["targets"], outputs["modalities"]
    if nodes.dim() != 3 or not (nodes.shape[0] == targets.numel() == modalities.numel()):
        raise ValueError(f"{loss_name}: nodes must be (B, K+1, d) with B = {targets.numel()} targets "
                         f"and {modalities.numel()} modalities, got {tuple(nodes.shape)}")
    return nodes, targets.view(-1), modalities.view(-1)


@G2DA_LOSS_REGISTRY.register()
class GraphOTLoss(nn.Module):
    """``{"loss_ot": SCALE * mean over same-identity (RGB, IR) pairs of graph_ot_distance}``.

    The paper aligns "every cross-modality image pair" of an identity: all of them are solved in
    one batched call (128 with 8 identities x (4 RGB + 4 IR)); the pairs are the batch's
    (:mod:`g2da_plugin.data.batch_layout`). A batch without such a pair gives a
    zero connected to the nodes. Nodes without support (``outputs["node_support"]`` 0, see
    :class:`~g2da_plugin.modeling.meta_arch.PosePartBaseline`) get no OT mass. Logs ``ot_value`` (the
    unscaled mean distance) and ``ot_plan_diagonal`` (the mean plan mass sent from node i to node i:
    1 when every node is matched to its own part) to the event storage. Config: ``MODEL.LOSSES.OT.{PHI, GW_LOSS, REG, MAX_ITER,
    INNER_ITER, TOL, SOLVER, SCALE}``.
    """

    @configurable
    def __init__(self, *, phi, gw_loss, reg, max_iter, inner_iter, tol, solver, scale, loss_name="loss_ot"):
        super().__init__()
        if gw_loss not in GW_LOSSES:
            raise InputError(f"MODEL.LOSSES.OT.GW_LOSS must be one of {GW_LOSSES}, got {gw_loss!r}")
        if solver not in SOLVERS or (solver == "pot" and gw_loss != "square"):
            raise InputError(f"MODEL.LOSSES.OT.SOLVER must be one of {SOLVERS} ('pot' needs GW_LOSS "
                             f"'square'), got SOLVER={solver!r}, GW_LOSS={gw_loss!r}")
        if not 0.0 <= phi <= 1.0:
            raise InputError(f"MODEL.LOSSES.OT.PHI must be in [0, 1], got {phi}")
        if reg <= 0 or max_iter < 1 or inner_iter < 1:
            raise InputError(f"MODEL.LOSSES.OT needs REG > 0, MAX_ITER >= 1, INNER_ITER >= 1, got "
                             f"{reg}, {max_iter}, {inner_iter}")
        self.solver_args = {"phi": phi, "gw_loss": gw_loss, "reg": reg, "max_iter": max_iter,
                            "inner_iter": inner_iter, "tol": tol, "solver": solver}
        self.scale = scale
        self.loss_name = loss_name

    @classmethod
    def from_config(cls, cfg):
        c = cfg.MODEL.LOSSES.OT
        return {"phi": c.PHI, "gw_loss": c.GW_LOSS, "reg": c.REG, "max_iter": c.MAX_ITER,
                "inner_iter": c.INNER_ITER, "tol": c.TOL, "solver": c.SOLVER, "scale": c.SCALE}

    def forward(self, outputs, batched_inputs=None):
        nodes, targets, modalities = check_node_outputs(outputs, type(self).__name__)
        pairs = pairs_of(batched_inputs, targets, modalities)  # the loader's: no host sync
        rgb_index, ir_index = pairs[PAIR_RGB], pairs[PAIR_IR]
        if rgb_index.numel() == 0:
            return {self.loss_name: nodes.sum() * 0.0}
        support = outputs.get("node_support")
        masses = {} if support is None else {"mass_rgb": support.index_select(0, rgb_index),
                                             "mass_ir": support.index_select(0, ir_index)}
        distances, plans = graph_ot_distance(nodes.index_select(0, rgb_index), nodes.index_select(0, ir_index),
                                             **self.solver_args, **masses, return_plan=True)
        put_tensor_scalars(ot_value=distances.mean(), ot_plan_diagonal=plans.diagonal(dim1=1, dim2=2).sum(dim=1).mean())
        return {self.loss_name: distances.mean() * self.scale}

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in {**self.solver_args, "scale": self.scale}.items())
