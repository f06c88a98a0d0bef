"""Cost of the dual-alignment losses (GraphOTLoss + PartContrastiveLoss) in a training step.

On a synthetic batch shaped like the sampler's (P=8 identities x (4 RGB + 4 IR) = 64 images,
14 graph nodes, post-ReLU node features sharing per-identity and per-node components, the IR side
shifted), with the default MODEL.LOSSES.OT / PART_CONTRASTIVE config:

  (a) forward + backward of loss_ot (128 same-identity pairs, one batched solve) + loss_part_contrastive,
      per node dimension d;
  (b) the plan solvers on those 128 pairs (d = the first --dims): the batched proximal solver
      ("abs" and "square"), POT's batched ot.solve_gromov_batch ("square"), and a per-pair loop of
      POT's exact ot.gromov.fused_gromov_wasserstein ("square"), with the mean distance each finds;
  (c) unless --no-model, one training step (forward, backward, SGD) of the baseline
      CrossModalityBaseline at --depth / --size / batch 64, and the alignment losses' share of
      (baseline step + alignment losses);
  --convergence: the max and mean relative gap of the distance after n steps to its value after 200
      steps, on these features, on features without a per-node component, on the nodes a randomly
      initialised ResNet-50 gives a synthetic training batch at 288x144 and, with --trained, on the
      nodes of a trained backbone: how the default MODEL.LOSSES.OT.MAX_ITER was chosen.

Median seconds over --iters timed runs after --warmup untimed ones, the compared functions taking
turns; on CUDA every timed region ends with a synchronize (the solver loop itself has none).

    python tools/benchmark_alignment.py                                  # CPU, ResNet-50 288x144 step
    python tools/benchmark_alignment.py --threads 1 --convergence --no-model
    python tools/benchmark_alignment.py --device cuda --iters 20 --convergence
"""

import ot
import torch

from fastreid.config import get_cfg
from fastreid.modeling.meta_arch import build_model

from ..config import add_g2da_config, load_config
from ..data import build_cross_modality_train_loader
from ..data.batch_layout import PAIR_IR, PAIR_RGB, cross_modality_pairs
from ..modeling.losses.graph_ot import cosine_cost, fused_gw_value, graph_ot_distance, gw_loss_matrix, proximal_fgw_plan
from ..modeling.losses.graph_ot_loss import GraphOTLoss
from ..modeling.losses.part_contrastive import PartContrastiveLoss
from ..utils.safe_load import load_checkpoint_file
from .timing import median_seconds

IDS, PER_MODALITY, NODES = 8, 4, 14


def sampler_labels():
    """(targets, modalities) of one sampler batch: per identity, its RGB then its IR images."""
    targets = torch.arange(IDS).repeat_interleave(2 * PER_MODALITY)
    modalities = torch.tensor(([0] * PER_MODALITY + [1] * PER_MODALITY) * IDS)
    return targets, modalities


def synthetic_outputs(dim, device, part_scale=1.0, seed=0):
    """The loss modules' inputs for one sampler batch. ``part_scale`` 0 drops the per-node
    component: then nothing tells the parts apart, the hard case for the solver."""
    g = torch.Generator().manual_seed(seed)
    targets, modalities = sampler_labels()
    identity = torch.randn(IDS, 1, dim, generator=g)[targets]
    part = part_scale * torch.randn(1, NODES, dim, generator=g)
    shift = torch.randn(1, 1, dim, generator=g) * modalities.view(-1, 1, 1)
    nodes = torch.relu(identity + part + shift + torch.randn(len(targets), NODES, dim, generator=g))
    return {"nodes": nodes.to(device).requires_grad_(True), "targets": targets.to(device),
            "modalities": modalities.to(device)}


def alignment_step(losses, outputs):
    """Forward + backward of the alignment losses (what they add to a training step)."""
    def step():
        outputs["nodes"].grad = None
        total = sum(v for loss in losses for v in loss(outputs).values())
        total.backward()
    return step


def pair_costs(outputs):
    pairs = cross_modality_pairs(outputs["targets"], outputs["modalities"])
    x, y = outputs["nodes"].detach()[pairs[PAIR_RGB]], outputs["nodes"].detach()[pairs[PAIR_IR]]
    return x, y, cosine_cost(x, y), cosine_cost(x, x), cosine_cost(y, y)


def bench_losses(args, device, cfg):
    rows = []
    ot_loss, pcl_loss = GraphOTLoss(cfg), PartContrastiveLoss(cfg)
    for dim in args.dims:
        outputs = synthetic_outputs(dim, device)
        steps = {"ot": alignment_step([ot_loss], outputs), "pcl": alignment_step([pcl_loss], outputs)}
        rows.append((dim, median_seconds(steps, device, args.iters, args.warmup)))
    print("\n(a) alignment losses, forward + backward, batch 64 (128 OT pairs), 14 nodes\n")
    print("| d | loss_ot (ms) | loss_part_contrastive (ms) | sum (ms) |")
    print("|---|---|---|---|")
    for dim, t in rows:
        print(f"| {dim} | {1e3 * t['ot']:.1f} | {1e3 * t['pcl']:.1f} | {1e3 * (t['ot'] + t['pcl']):.1f} |")
    return rows[0][1]["ot"] + rows[0][1]["pcl"]


def bench_solvers(args, device, ot_cfg):
    x, y, c, cx, cy = pair_costs(synthetic_outputs(args.dims[0], device))
    solver_args = {"phi": ot_cfg.PHI, "reg": ot_cfg.REG, "max_iter": ot_cfg.MAX_ITER, "inner_iter": ot_cfg.INNER_ITER,
                   "tol": ot_cfg.TOL}
    # the per-pair loop gets numpy inputs: POT's exact solver is CPU code (EMD) whatever the backend
    c64, cx64, cy64 = (t.double().cpu().numpy() for t in (c, cx, cy))

    def pot_loop():
        return torch.tensor([ot.gromov.fused_gromov_wasserstein2(c64[b], cx64[b], cy64[b], loss_fun="square_loss",
                                                                 alpha=1 - ot_cfg.PHI) for b in range(len(c64))])

    runs = {
        "batched proximal, abs (default)": lambda: graph_ot_distance(x, y, gw_loss="abs", solver="proximal",
                                                                     **solver_args),
        "batched proximal, square": lambda: graph_ot_distance(x, y, gw_loss="square", solver="proximal",
                                                              **solver_args),
        "batched POT solve_gromov_batch, square": lambda: graph_ot_distance(x, y, gw_loss="square", solver="pot",
                                                                            **solver_args),
        "per-pair loop of POT fused_gromov_wasserstein (exact CG), square": pot_loop,
    }
    print(f"\n(b) solvers on the same {len(c)} pairs (d = {args.dims[0]}, 14 nodes; REG {ot_cfg.REG}, "
          f"MAX_ITER {ot_cfg.MAX_ITER}, INNER_ITER {ot_cfg.INNER_ITER})\n")
    with torch.no_grad():
        seconds = median_seconds(runs, device, args.iters, args.warmup)
        print("| solver | time (ms) | mean distance |")
        print("|---|---|---|")
        for name, fn in runs.items():
            print(f"| {name} | {1e3 * seconds[name]:.1f} | {fn().mean().item():.5f} |")


def network_pairs(config_file, weights, data_root, device):
    """The (RGB, IR) node features of every same-identity pair of one training batch of
    ``config_file``'s model on the synthetic data: from random weights, or ``weights``' backbone."""
    cfg = load_config(config_file, ["MODEL.DEVICE", str(device), "MODEL.BACKBONE.PRETRAIN", "False",
                                    "DATASETS.ROOT", data_root, "INPUT.KEYPOINTS.FILE", "keypoints.json",
                                    "DATALOADER.NUM_WORKERS", "0"])
    loader = build_cross_modality_train_loader(cfg)
    cfg.MODEL.HEADS.NUM_CLASSES = loader.dataset.num_classes
    torch.manual_seed(0)
    model = build_model(cfg).train()
    if weights:
        state = load_checkpoint_file(weights, trusted=False, trust_hint="(a checkpoint of this project's training)")["model"]
        model.backbone.load_state_dict({k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")})
    batch = next(iter(loader))
    with torch.no_grad():
        nodes = model.extract(batch)["nodes"]
    pairs = cross_modality_pairs(batch["targets"], batch["modalities"])
    return nodes[pairs[PAIR_RGB].to(device)], nodes[pairs[PAIR_IR].to(device)]


def bench_convergence(args, device, ot_cfg):
    steps = (5, 10, 15, 20, 40)
    print(f"\nconvergence: relative gap |D(n) - D(200)| / D(200) after n steps, max; mean over the pairs "
          f"(REG {ot_cfg.REG}, INNER_ITER {ot_cfg.INNER_ITER})\n")
    print("| node features | gw_loss | " + " | ".join(f"n = {n}" for n in steps) + " |")
    print("|---|---|" + "---|" * len(steps))
    regimes = {f"synthetic, per-node component (d = {args.dims[0]})": pair_costs(synthetic_outputs(args.dims[0], device, 1.0))[:2],
               f"synthetic, no per-node component (d = {args.dims[0]})": pair_costs(synthetic_outputs(args.dims[0], device, 0.0))[:2],
               "random-init ResNet-50 288x144 (sysu_G2DA.yml), synthetic SYSU batch":
                   network_pairs(args.network_config, None, args.data_root, device)}
    if args.trained:
        regimes[f"trained backbone {args.trained} ({args.trained_config})"] = network_pairs(
            args.trained_config, args.trained, args.data_root, device)
    with torch.no_grad():
        for regime, (x, y) in regimes.items():
            c, cx, cy = cosine_cost(x, y), cosine_cost(x, x), cosine_cost(y, y)
            for gw_loss in ("abs", "square"):
                gw = gw_loss_matrix(cx, cy, gw_loss)

                def value(n):
                    plan = proximal_fgw_plan(c, gw, ot_cfg.PHI, ot_cfg.REG, n, ot_cfg.INNER_ITER)
                    return fused_gw_value(c, gw, plan, ot_cfg.PHI)

                reference = value(200)
                gaps = [(value(n) - reference).abs() / reference for n in steps]
                cells = " | ".join(f"{g.max().item():.0e}; {g.mean().item():.0e}" for g in gaps)
                print(f"| {regime} | {gw_loss} | {cells} |")


def baseline_cfg(args):
    cfg = add_g2da_config(get_cfg())
    cfg.MODEL.META_ARCHITECTURE = "CrossModalityBaseline"
    cfg.MODEL.BACKBONE.NAME = "build_two_stream_resnet_backbone"
    cfg.MODEL.BACKBONE.DEPTH = args.depth
    cfg.MODEL.BACKBONE.LAST_STRIDE = 1
    cfg.MODEL.BACKBONE.FEAT_DIM = 512 if args.depth in ("18x", "34x") else 2048
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.HEADS.NUM_CLASSES = 395
    cfg.MODEL.HEADS.WITH_BNNECK = True
    cfg.MODEL.HEADS.NECK_FEAT = "before"
    cfg.MODEL.LOSSES.NAME = ("CrossEntropyLoss", "CrossModalityTripletLoss")
    cfg.MODEL.DEVICE = args.device
    return cfg


def bench_model(args, device):
    torch.manual_seed(0)
    model = build_model(baseline_cfg(args)).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    targets, modalities = sampler_labels()
    batch = {"images": torch.rand(len(targets), 3, *args.size, device=device) * 255,
             "targets": targets.to(device), "modalities": modalities.to(device)}

    def step():
        losses = model(batch)
        optimizer.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        optimizer.step()

    return median_seconds({"step": step}, device, args.model_iters, 1)["step"]


def run_benchmark(args):
    """Print the tables (a)-(c) of the module docstring; ``args`` are tools/benchmark_alignment.py's."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = add_g2da_config(get_cfg())
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {args.device} ({name}{threads}), torch {torch.__version__}, POT {ot.__version__}")

    alignment = bench_losses(args, device, cfg)
    bench_solvers(args, device, cfg.MODEL.LOSSES.OT)
    if args.convergence:
        bench_convergence(args, device, cfg.MODEL.LOSSES.OT)
    if not args.no_model:
        model = bench_model(args, device)
        print(f"\n(c) baseline training step (CrossModalityBaseline, two-stream ResNet depth {args.depth}, "
              f"{args.size[0]}x{args.size[1]}, batch 64, forward + backward + SGD)\n")
        print(f"| baseline step (ms) | alignment losses, d = {args.dims[0]} (ms) | alignment share of step + losses |")
        print("|---|---|---|")
        print(f"| {1e3 * model:.0f} | {1e3 * alignment:.1f} | {100 * alignment / (model + alignment):.1f}% |")
