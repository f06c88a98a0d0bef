"""The materials of a rendered label map (Sample.labels), which are also the rows of a palette."""

BACKGROUND, SKIN, EYES, HAIR, TOP_A, TOP_B, BOTTOM_A, BOTTOM_B, SHOES, ITEM, OCCLUDER = range(11)
NUM_MATERIALS = 11
