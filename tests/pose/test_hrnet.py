"""The hrnet backend: heatmap decoding as mmpose's codec, heatmap cells back to crop pixels, and the
batched estimator on whole crops (random weights)."""

import numpy as np
import pytest
import torch
from PIL import Image

from g2da_plugin.data.keypoint_geometry import heatmap_cells_to_pixels
from g2da_plugin.pose import build_estimator, mmpose_compat
from g2da_plugin.pose.hrnet import decode_heatmaps


def test_decoding_matches_mmpose_codec():
    mmpose_compat.import_mmpose()   # mmcv.ops stand-in first
    from mmpose.codecs import MSRAHeatmap

    rng = np.random.default_rng(0)
    heatmaps = rng.uniform(-0.1, 1, (4, 17, 64, 32)).astype(np.float32)
    # Peaks on and next to every border, where the codec's refinement has its special cases.
    for k, (y, x) in enumerate([(0, 0), (0, 1), (1, 2), (63, 31), (62, 30), (5, 31), (63, 5), (1, 1), (2, 2)]):
        heatmaps[0, k, y, x] = 2.0
    codec = MSRAHeatmap(input_size=(128, 256), heatmap_size=(32, 64), sigma=2)
    coords, values = decode_heatmaps(torch.from_numpy(heatmaps))
    for n in range(len(heatmaps)):
        expected, scores = codec.decode(heatmaps[n])
        np.testing.assert_allclose(coords[n].numpy() * 4, expected[0], atol=1e-5)
        np.testing.assert_allclose(values[n].numpy(), scores[0], atol=1e-6)


def test_heatmap_cells_to_crop_pixels():
    # Heatmap cell j is input pixel 4j in mmpose's convention (pixel centres at integers), i.e.
    # 4j + 0.5 in the keypoints files' one; then scaled to the crop: (64 x 32 heatmap of a
    # 256 x 128 input, 128 x 64 crop), and clipped to it.
    cells = torch.tensor([[[0.0, 0.0], [31.0, 63.0], [15.75, 31.25], [40.0, -1.0]]], dtype=torch.float64)
    xy = heatmap_cells_to_pixels(cells, (64, 32), (256, 128), [(128, 64)])
    np.testing.assert_allclose(xy[0].numpy(), [[0.25, 0.25], [62.25, 126.25], [31.75, 62.75], [64.0, 0.0]])


def test_hrnet_estimator_batches_whole_crops():
    estimator = build_estimator("hrnet", checkpoint=None, input_size=(64, 32), flip_test=True)
    assert "input=64x32" in estimator.source and "flip_test=True" in estimator.source
    assert "checkpoint=none(random-init)" in estimator.source
    images = [Image.new("RGB", (64, 128), (90, 120, 30)), Image.new("L", (80, 160), 200)]   # RGB and IR
    keypoints = estimator.predict(images)
    assert keypoints.shape == (2, 17, 3) and keypoints.dtype == np.float32
    for rows, image in zip(keypoints, images):
        assert (rows[:, 0] >= 0).all() and (rows[:, 0] <= image.width).all()
        assert (rows[:, 1] >= 0).all() and (rows[:, 1] <= image.height).all()
        assert ((rows[:, 2] >= 0) & (rows[:, 2] <= 1)).all()
    with pytest.raises(ValueError, match="multiples of 32"):
        build_estimator("hrnet", input_size=(100, 50))
