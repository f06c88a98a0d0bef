"""Config keys of the pose keypoints, heatmaps and part features (``add_pose_config``).

``add_pose_config(cfg)`` only ADDS keys (never changes a FastReID default) and is idempotent.

Data (``INPUT.KEYPOINTS``, read by :mod:`g2da_plugin.data.build`):

- ``ENABLED`` (False): every sample carries ``"keypoints"`` (17, 3) in the augmented input's
  pixels, moved by the joint transforms. Needed by ``MODEL.POSE.MODE cached``.
- ``FILE`` ("keypoints.json"): the keypoints file, relative to each dataset's folder
  (``<DATASETS.ROOT>/SYSU-MM01/``) unless absolute. ``keypoints.json`` is the synthetic data's ground
  truth; estimated keypoints are written as ``keypoints_<backend>.json`` (e.g. ``keypoints_hrnet.json``).
- ``MISSING`` ("error"): an image without keypoints stops the run, naming the image and the file
  (a real dataset's file should be complete); "mean_pose" gives it the mean pose template
  (:data:`g2da_plugin.data.common.MEAN_POSE`) and logs how many images fell back.
- ``MEAN_POSE_SCORE`` (1.0): the score of every keypoint of the mean pose. 1 keeps the fallback's
  part features on the scale of real ones (0 would make them zero vectors).

Model (``MODEL.POSE``, read by :class:`~g2da_plugin.modeling.meta_arch.PosePartBaseline`):

- ``MODE`` ("cached"): "cached" takes the keypoints from the batch (the loader's, precomputed once
  per image and re-projected through the augmentation); "online" runs a frozen pose estimator on
  the batch's augmented images inside the forward pass (the paper's literal description; same
  heatmap code, far slower).
- ``HEAD`` ("mean"): how the five COCO face points become the head node. "mean": at their
  score-weighted mean position (plain mean when all scores are 0), with the largest of their scores
  (HOReID groups the face points and keeps the group's maximum response); "nose": the nose alone.
- ``SIGMA`` (1.0): standard deviation of each Gaussian heatmap, in FEATURE-MAP cells (one cell =
  16 input pixels with last stride 1: 288x144 -> 18x9), so it does not change with the input size.
- ``HEATMAP_NORM`` ("mean"): "mean": each heatmap is scaled so that its mean over the h x w cells
  is the keypoint's score; then Eq. 2's GAP(F * H_k) is the score times a Gaussian-weighted
  average of F around the keypoint -- on the scale of the global GAP feature (node 0), which
  matters because node features are compared with cosine costs, contrastive distances and summed
  in the aggregation. "sum": each map sums to the score (v_k is that average divided by h*w, ~160
  times smaller than the global feature at 18x9). "none": the raw Gaussian (peak 1) times the score.
- ``USE_SCORES`` (True): weight each heatmap by its keypoint's score (False: every keypoint
  inside the image counts fully). A keypoint outside the input image (e.g. cropped out by the
  augmentation) gets weight 0 either way.
- ``TEST_FEAT`` ("global"): the test embedding: "global" = the baseline's (BNNeck output);
  "nodes" = the 14 node features, each L2-normalised, concatenated.
- ``ESTIMATOR.NAME`` ("HRNet"): the online estimator, from ``POSE_ESTIMATOR_REGISTRY``
  (:mod:`g2da_plugin.modeling.pose_estimator`): "HRNet" (mmpose HRNet-w32 COCO, needs the pose
  extra) or "MeanPose" (a stand-in that returns the mean pose: tests and timing only).
- ``ESTIMATOR.WEIGHTS`` (""): the estimator's checkpoint file; "" = random initial weights (timing
  only: its keypoints are meaningless).
- ``ESTIMATOR.INPUT_SIZE`` ([256, 128]): (height, width) the estimator runs at; the batch's images
  are resized to it (bilinear) and keypoints mapped back to the input's pixels.
- ``ESTIMATOR.FLIP_TEST`` (False): average the estimator's heatmaps with the mirrored image's
  (doubles its cost).
"""

from .config import add_missing

__all__ = ["add_pose_config", "HEAD_MODES", "HEATMAP_NORMS", "POSE_MODES", "TEST_FEATS"]

POSE_MODES = ("cached", "online")
HEAD_MODES = ("mean", "nose")
HEATMAP_NORMS = ("mean", "sum", "none")
TEST_FEATS = ("global", "nodes")


def add_pose_config(cfg):
    """Add the ``INPUT.KEYPOINTS`` and ``MODEL.POSE`` keys (module docstring) to ``cfg`` in place."""
    add_missing(cfg.INPUT, "KEYPOINTS", {
        "ENABLED": False,
        "FILE": "keypoints.json",
        "MISSING": "error",
        "MEAN_POSE_SCORE": 1.0,
    })
    add_missing(cfg.MODEL, "POSE", {
        "MODE": "cached",
        "HEAD": "mean",
        "SIGMA": 1.0,
        "HEATMAP_NORM": "mean",
        "USE_SCORES": True,
        "TEST_FEAT": "global",
    })
    add_missing(cfg.MODEL.POSE, "ESTIMATOR", {
        "NAME": "HRNet",
        "WEIGHTS": "",
        "INPUT_SIZE": [256, 128],
        "FLIP_TEST": False,
    })
    return cfg
