"""BlazePose (mediapipe 0.10.21's legacy "solutions" API) as a keypoints backend.

mediapipe 0.10.21 is the last release whose wheel ships BlazePose's models
(``mediapipe/modules/pose_landmark/pose_landmark_full.tflite`` and the pose detector), so
``model_complexity=1`` runs with no download; 0 (lite) and 2 (heavy) would download their model and
are refused. Each image is processed on its own (``static_image_mode=True``: detector, then
landmarks; no tracking across images).

Mapping to COCO: BlazePose landmarks 0 (nose), 2 / 5 (left / right eye), 7 / 8 (left / right ear),
11-16 (shoulders, elbows, wrists) and 23-28 (hips, knees, ankles) are COCO keypoints 0-16 (see
:data:`MEDIAPIPE_TO_COCO`); "left" is the person's left in both. x, y are the normalised landmark
coordinates times the image size (the keypoints files' pixel convention, up to mediapipe's own
sub-pixel convention), clipped to the image; the score is the landmark's ``visibility``. When no
person is found, all 17 keypoints are the image centre with score 0.

Small crops: the crop is upscaled by ``upscale`` (bilinear) and padded to a square (``pad``:
black borders left and right) before BlazePose sees it; coordinates are mapped back. Both help
its person detector on 128-pixel-high re-id crops (the numbers are in the report / docs).
"""

import contextlib
import os
import sys
import tempfile
import warnings

import numpy as np

from ..data.keypoint_geometry import NUM_KEYPOINTS

__all__ = ["MEDIAPIPE_TO_COCO", "MediaPipeEstimator", "PrepareForBlazePose"]

#: ``coco[k] = blazepose[MEDIAPIPE_TO_COCO[k]]``.
MEDIAPIPE_TO_COCO = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)

# Lines mediapipe prints on import with protobuf >= 5 (a Python-proto fast path of its bindings that
# it falls back from), while it builds its graph and on its first images: harmless, filtered out.
_NATIVE_NOISE = ("GetPrototype", "inference_feedback_manager", "XNNPACK delegate",
                 "absl::InitializeLog", "gl_context", "landmark_projection_calculator")


@contextlib.contextmanager
def _filtered_native_stderr():
    """Capture file descriptor 2 (native code writes there) and re-emit all but known noise."""
    try:
        saved = os.dup(2)
    except OSError:   # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        sys.stderr.flush()
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()   # what Python code printed (mediapipe's PyErr_Print goes there)
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines(keepends=True):
                if line.strip() and not any(noise in line for noise in _NATIVE_NOISE):
                    os.write(2, line.encode())


class PrepareForBlazePose:
    """PIL image -> (RGB array as BlazePose sees it, (height, width, scale_x, scale_y, left padding))."""

    def __init__(self, upscale, pad):
        self.upscale = upscale
        self.pad = pad

    def __call__(self, image):
        image = image.convert("RGB")
        width, height = image.size
        if self.upscale != 1:
            from PIL import Image

            image = image.resize((round(width * self.upscale), round(height * self.upscale)), Image.BILINEAR)
        array = np.asarray(image)
        left = 0
        if self.pad and array.shape[0] > array.shape[1]:
            side = array.shape[0]
            left = (side - array.shape[1]) // 2
            canvas = np.zeros((side, side, 3), np.uint8)
            canvas[:, left:left + array.shape[1]] = array
            array = canvas
        return np.ascontiguousarray(array), (height, width, image.size[0] / width, image.size[1] / height, left)


class MediaPipeEstimator:
    """BlazePose-full on whole crops (module docstring).

    Args:
        model_complexity: only 1 (the model shipped in the wheel).
        min_detection_confidence: the person detector's threshold.
        upscale: resize factor applied before BlazePose (>= 1).
        pad: pad the (upscaled) crop with black to a square.
    """

    backend = "mediapipe"

    def __init__(self, model_complexity=1, min_detection_confidence=0.3, upscale=2.0, pad=True):
        if model_complexity != 1:
            raise ValueError("model_complexity must be 1: mediapipe 0.10.21 ships only BlazePose-full's weights "
                             "(0 and 2 would be downloaded at run time)")
        if upscale < 1:
            raise ValueError(f"upscale must be >= 1, got {upscale}")
        self.upscale = float(upscale)
        self.pad = bool(pad)
        #: PIL image -> (RGB array as BlazePose sees it, how to map back); picklable.
        self.prepare = PrepareForBlazePose(self.upscale, self.pad)
        self.min_detection_confidence = float(min_detection_confidence)
        with _filtered_native_stderr(), warnings.catch_warnings():
            # mediapipe 0.10.21 reads FieldDescriptor.label, deprecated in protobuf 6 (removed in 7).
            warnings.filterwarnings("ignore", message=r"label\(\) is deprecated", category=DeprecationWarning)
            try:
                import mediapipe
                from mediapipe.python.solutions import pose as mp_pose
            except ImportError as e:
                raise ImportError(f"mediapipe could not be imported ({e}); install the pose extra: "
                                  f"bash tools/install_pose_extra.sh") from e
            self._pose = mp_pose.Pose(static_image_mode=True, model_complexity=1, smooth_landmarks=False,
                                      enable_segmentation=False,
                                      min_detection_confidence=self.min_detection_confidence)
            # One blank image (no person: no state left behind) starts the graph's interpreters now,
            # inside this filter, rather than printing their start-up lines during the first images.
            self._pose.process(np.zeros((64, 64, 3), np.uint8))
        self._quiet_calls = 3   # the native code's start-up noise comes with the first images
        self.source = (f"mediapipe-{mediapipe.__version__} blazepose-full static_image_mode "
                       f"min_detection_confidence={self.min_detection_confidence:g} upscale={self.upscale:g} "
                       f"pad={self.pad}")

    def _process(self, array):
        if self._quiet_calls:
            self._quiet_calls -= 1
            with _filtered_native_stderr():
                return self._pose.process(array)
        return self._pose.process(array)

    def predict_prepared(self, items):
        """A list of :meth:`prepare` outputs -> (N, 17, 3) float32 [x, y, score] in image pixels."""
        out = np.zeros((len(items), NUM_KEYPOINTS, 3), np.float32)
        for i, (array, (height, width, scale_x, scale_y, left)) in enumerate(items):
            result = self._process(array)
            if result.pose_landmarks is None:
                out[i, :, 0], out[i, :, 1] = width / 2, height / 2
                continue
            landmarks = result.pose_landmarks.landmark
            canvas_h, canvas_w = array.shape[:2]
            for k, index in enumerate(MEDIAPIPE_TO_COCO):
                landmark = landmarks[index]
                x = (landmark.x * canvas_w - left) / scale_x
                y = landmark.y * canvas_h / scale_y
                out[i, k] = (min(max(x, 0.0), width), min(max(y, 0.0), height),
                             min(max(landmark.visibility, 0.0), 1.0))
        return out

    def predict(self, images):
        """PIL images -> (N, 17, 3) float32 [x, y, score]."""
        return self.predict_prepared([self.prepare(image) for image in images])

    def close(self):
        """Stop mediapipe's graph (no ``__del__``: closing it during interpreter shutdown deadlocks)."""
        if self._pose is not None:
            self._pose.close()
            self._pose = None
