"""Pose estimators that write the plug-in's keypoints files (an optional extra).

Two backends, both giving 17 COCO keypoints ``[x, y, score]`` per image in the pixel convention of
:mod:`g2da_plugin.data.keypoints_io` (centre of the top-left pixel at (0.5, 0.5)), the whole image
taken as the person box:

* ``hrnet`` (:class:`~g2da_plugin.pose.hrnet.HRNetEstimator`): mmpose's HRNet-w32 top-down COCO
  model, the estimator of the paper, from mmpose's bundled config and a checkpoint file the user
  names; batched forward at 256 x 128.
* ``mediapipe`` (:class:`~g2da_plugin.pose.mediapipe_pose.MediaPipeEstimator`): BlazePose (full),
  whose weights ship inside the mediapipe 0.10.21 wheel, so it runs with no download.

Neither mmpose nor mediapipe is imported by ``import g2da_plugin`` or by this package: only by
:func:`build_estimator` (and the backend modules). Install them with ``tools/install_pose_extra.sh``.

Also here: :mod:`.extraction` (a dataset's images through an estimator into a keypoints file,
resumable), :mod:`.figure` (keypoints drawn on RGB and IR samples, the paper's Fig. 3) and
:mod:`.online` (the estimators run inside the model's forward pass).
"""

BACKENDS = ("hrnet", "mediapipe")

__all__ = ["BACKENDS", "build_estimator"]


def build_estimator(backend, **kwargs):
    """A pose estimator: ``backend`` in :data:`BACKENDS`, ``kwargs`` for its constructor.

    Every estimator has ``backend`` and ``source`` (what it writes in a keypoints file's "source"),
    ``prepare(image) -> item`` (PIL image in, any mode; picklable, may run in DataLoader workers),
    ``predict_prepared(items) -> (N, 17, 3) float32`` array, ``predict(images)`` and ``close()``.
    """
    if backend == "hrnet":
        from .hrnet import HRNetEstimator
        return HRNetEstimator(**kwargs)
    if backend == "mediapipe":
        from .mediapipe_pose import MediaPipeEstimator
        return MediaPipeEstimator(**kwargs)
    raise ValueError(f"unknown pose backend {backend!r}; choose one of {', '.join(BACKENDS)}")
