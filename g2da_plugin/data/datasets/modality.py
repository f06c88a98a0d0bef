"""Modality codes shared by the datasets, the sampler, the backbone and the evaluator."""

RGB = 0  # visible light
IR = 1   # near-infrared (SYSU-MM01) or thermal (RegDB)

NAMES = {RGB: "rgb", IR: "ir"}
