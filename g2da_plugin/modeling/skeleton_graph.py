"""The skeleton graph of an image (Sec. III-A, Eq. 2): 17 COCO keypoints -> 13 part nodes -> heatmaps at
the feature map's resolution -> part features ``v_k = GAP(F * H_k)``; the graph's node names and edges.

One renderer serves both keypoint sources (keypoints cached per image and re-projected through the
augmentation, or an online pose estimator run on the augmented batch): both give (B, 17, 3)
``[x, y, score]`` in the pixels of the network's input images, and :func:`render_heatmaps` maps
them onto the feature map's grid.

The 13 part nodes (:data:`NODE_NAMES`): head, then left/right shoulder, elbow, wrist, hip, knee,
ankle (COCO keypoints 5..16). The head merges COCO's five face points (nose, eyes, ears) into one
node, as HOReID does (the pose-guided re-id code G2DA follows for its K = 13):
:func:`keypoints_to_part_nodes`. With the global feature in front, an image's graph has the 14 nodes
of :data:`GRAPH_NODE_NAMES` (node 0 = global); :data:`SKELETON_EDGES` are the body's natural links
between them (for the MFA adjacency).

Geometry: the input image is ``H x W`` pixels, the feature map ``h x w`` cells; cell (i, j) covers
input pixels ``[j W/w, (j+1) W/w) x [i H/h, (i+1) H/h)``, its centre is at cell coordinates
(j + 0.5, i + 0.5). A keypoint at input pixel (x, y) sits at cell coordinates (x w / W, y h / H).
"""

import torch

from ..data.keypoint_geometry import BODY_SLICE, FACE_KEYPOINTS, FACE_SLICE, NUM_KEYPOINTS
from ..utils.errors import InputError

__all__ = [
    "HEAD_MODES",
    "HEATMAP_NORMS",
    "NODE_NAMES",
    "GRAPH_NODE_NAMES",
    "NUM_PARTS",
    "NUM_NODES",
    "SKELETON_EDGES",
    "keypoints_to_part_nodes",
    "render_heatmaps",
    "pool_parts",
]

#: Values of ``MODEL.POSE.HEAD`` and ``MODEL.POSE.HEATMAP_NORM``.
HEAD_MODES = ("mean", "nose")
HEATMAP_NORMS = ("mean", "sum", "none")

NODE_NAMES = (
    "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_PARTS = len(NODE_NAMES)                       # K = 13
GRAPH_NODE_NAMES = ("global",) + NODE_NAMES
NUM_NODES = len(GRAPH_NODE_NAMES)                 # K + 1 = 14

_G = {name: index for index, name in enumerate(GRAPH_NODE_NAMES)}
#: The body's natural links, as pairs of GRAPH node indices (0 = global, 1 = head, ...):
#: head-shoulders, shoulder-shoulder, shoulder-elbow, elbow-wrist, shoulder-hip, hip-hip,
#: hip-knee, knee-ankle. (The global-to-every-part links and self loops are not listed.)
SKELETON_EDGES = tuple((_G[a], _G[b]) for a, b in (
    ("head", "left_shoulder"), ("head", "right_shoulder"), ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
    ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
))


def keypoints_to_part_nodes(keypoints, head):
    """(B, 17, 3) COCO keypoints -> (B, 13, 3) part nodes ``[x, y, score]`` (order :data:`NODE_NAMES`).

    ``head="mean"``: the head node sits at the score-weighted mean of the five face points (their
    plain mean when all five scores are 0) and takes the largest of their scores (a head seen from
    behind has invisible nose and eyes but is still there; HOReID keeps a group's maximum
    response). ``head="nose"``: the nose alone. Body nodes are COCO keypoints 5..16 unchanged.
    """
    if keypoints.dim() != 3 or keypoints.shape[1:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"keypoints must be (B, {NUM_KEYPOINTS}, 3), got {tuple(keypoints.shape)}")
    if head == "nose":
        head_node = keypoints[:, 0:1]
    elif head == "mean":
        face = keypoints[:, FACE_SLICE]
        scores = face[..., 2:3]
        total = scores.sum(dim=1, keepdim=True)
        weights = torch.where(total > 0, scores / total.clamp_min(1e-12), torch.full_like(scores, 1 / len(FACE_KEYPOINTS)))
        xy = (weights * face[..., :2]).sum(dim=1, keepdim=True)
        head_node = torch.cat([xy, scores.amax(dim=1, keepdim=True)], dim=-1)
    else:
        raise InputError(f"MODEL.POSE.HEAD must be 'mean' or 'nose', got {head!r}")
    return torch.cat([head_node, keypoints[:, BODY_SLICE]], dim=1)


def render_heatmaps(keypoints, input_size, feature_size, sigma, norm, use_scores):
    """Gaussian heatmaps of ``keypoints`` on the feature map's grid: (B, K, h, w).

    Args:
        keypoints: (B, K, 3) ``[x, y, score]`` in input-image pixels (any K; 13 part nodes here).
        input_size: (H, W) of the input images.
        feature_size: (h, w) of the feature map.
        sigma: the Gaussian's standard deviation in feature-map cells (> 0).
        norm: "mean" -- each map's mean over the h*w cells equals the keypoint's weight, so
            ``pool_parts`` (a GAP) gives weight x the Gaussian-weighted average of F around the
            keypoint, on the global GAP feature's scale (the default); "sum" -- each map sums to the weight; "none" --
            the raw Gaussian (value 1 at its centre) times the weight.
        use_scores: weight each map by the keypoint's score; otherwise by 1.

    A keypoint whose centre lies outside the input image (x outside [0, W] or y outside [0, H],
    e.g. cropped out by the augmentation) gets weight 0: its map is all zeros. "mean" and "sum"
    normalise over the grid itself, so a keypoint near the border keeps its full weight.
    Gradients do not flow into the keypoints' positions (they come from a frozen estimator).
    """
    if norm not in HEATMAP_NORMS:
        raise InputError(f"MODEL.POSE.HEATMAP_NORM must be one of {HEATMAP_NORMS}, got {norm!r}")
    if not sigma > 0:
        raise InputError(f"MODEL.POSE.SIGMA must be > 0, got {sigma}")
    if keypoints.dim() != 3 or keypoints.shape[-1] != 3:
        raise ValueError(f"keypoints must be (B, K, 3), got {tuple(keypoints.shape)}")
    H, W = (float(v) for v in input_size)
    h, w = (int(v) for v in feature_size)
    keypoints = keypoints.detach()
    dtype = keypoints.dtype if keypoints.is_floating_point() else torch.float32
    keypoints = keypoints.to(dtype)
    x, y, score = keypoints.unbind(-1)
    u = x * (w / W)                                   # cell coordinates
    v = y * (h / H)
    cx = torch.arange(w, device=keypoints.device, dtype=dtype) + 0.5
    cy = torch.arange(h, device=keypoints.device, dtype=dtype) + 0.5
    log_gx = -(cx - u[..., None]) ** 2 / (2 * sigma ** 2)   # (B, K, w)
    log_gy = -(cy - v[..., None]) ** 2 / (2 * sigma ** 2)   # (B, K, h)
    if norm == "none":
        maps = torch.exp(log_gy)[..., :, None] * torch.exp(log_gx)[..., None, :]
    else:
        # The 2-D Gaussian is separable, and so is its normalisation: softmax is exact and stable
        # even for a keypoint many sigmas from every cell centre.
        maps = torch.softmax(log_gy, dim=-1)[..., :, None] * torch.softmax(log_gx, dim=-1)[..., None, :]
        if norm == "mean":
            maps = maps * (h * w)
    weight = score if use_scores else torch.ones_like(score)
    weight = weight * inside_image(keypoints, input_size).to(dtype)
    return maps * weight[..., None, None]


def inside_image(keypoints, input_size):
    """(B, K) bool: the keypoints ``[x, y, score]`` whose centre lies in the (H, W) input image,
    borders included (the others get a zero heatmap, hence a zero part feature)."""
    H, W = (float(v) for v in input_size)
    x, y = keypoints[..., 0], keypoints[..., 1]
    return (x >= 0) & (x <= W) & (y >= 0) & (y <= H)


def pool_parts(feature_map, heatmaps):
    """Eq. 2, ``v_k = GAP(F * H_k)`` (H_k broadcast over the channels): (B, K, C).

    ``feature_map`` (B, C, h, w), ``heatmaps`` (B, K, h, w) (cast to the feature map's dtype and
    device). Computed as one batched matrix product, sum_ij F[:, i, j] H_k[i, j] / (h w).
    """
    b, c, h, w = feature_map.shape
    if heatmaps.dim() != 4 or heatmaps.shape[0] != b or heatmaps.shape[-2:] != (h, w):
        raise ValueError(f"heatmaps {tuple(heatmaps.shape)} do not match the feature map {tuple(feature_map.shape)}")
    heatmaps = heatmaps.to(device=feature_map.device, dtype=feature_map.dtype)
    return torch.bmm(heatmaps.flatten(2), feature_map.flatten(2).transpose(1, 2)) / (h * w)
