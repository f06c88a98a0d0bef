"""Colours: the shared wardrobe, each person's RGB and infrared palettes, and random scene colours."""

import colorsys

import numpy as np

from .materials import BOTTOM_A, BOTTOM_B, EYES, HAIR, ITEM, NUM_MATERIALS, SHOES, SKIN, TOP_A, TOP_B


def random_colour(rng, saturation=(0.25, 0.9), value=(0.2, 0.95)):
    return np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value)))


# Clothing colours come from a small common wardrobe (as in real crowds: many people wear black,
# navy or denim), so colour narrows the candidates but cannot identify a person on its own; identity
# has to come from cues both modalities show (shape, patterns, items), as the demo is meant to test.
WARDROBE = np.array([
    (0.08, 0.08, 0.09),  # black
    (0.27, 0.27, 0.29),  # charcoal
    (0.56, 0.56, 0.57),  # grey
    (0.88, 0.88, 0.86),  # white
    (0.10, 0.13, 0.35),  # navy
    (0.25, 0.38, 0.60),  # denim
    (0.78, 0.70, 0.55),  # beige
    (0.40, 0.27, 0.15),  # brown
    (0.55, 0.10, 0.12),  # dark red
    (0.38, 0.40, 0.20),  # olive
])
TOP_COLOURS = range(len(WARDROBE))
BOTTOM_COLOURS = (0, 1, 2, 4, 5, 6, 7)   # trousers: no white, red or olive
SHOE_COLOURS = (0, 1, 3, 7)
# Per-person shift of a wardrobe colour: dyes vary a little, far less than the wardrobe's spacing.
WARDROBE_JITTER = 0.03


def _wardrobe_colour(rng, choices):
    return WARDROBE[int(rng.choice(choices))] + rng.uniform(-WARDROBE_JITTER, WARDROBE_JITTER, 3)


def _pattern_partner(rng, colour):
    """The second colour of a pattern: darker, lighter or another wardrobe colour, so patterns show."""
    kind = rng.integers(3)
    if kind == 0:
        return colour * rng.uniform(0.25, 0.5)
    if kind == 1:
        return colour + (1 - colour) * rng.uniform(0.5, 0.8)
    return _wardrobe_colour(rng, TOP_COLOURS)


def _ir_partner(rng, level):
    """A pattern's second IR level, at least 0.2 away so the pattern survives in IR (a shared cue)."""
    step = rng.uniform(0.2, 0.4) * (1 if rng.random() < 0.5 else -1)
    if not 0.05 <= level + step <= 0.95:
        step = -step
    return level + step


def draw_rgb_palette(rng):
    palette = np.zeros((NUM_MATERIALS, 3))
    palette[SKIN] = np.array([0.96, 0.80, 0.69]) + rng.random() * np.array([-0.51, -0.50, -0.47])
    palette[EYES] = (0.08, 0.06, 0.05)
    palette[HAIR] = np.array([0.05, 0.04, 0.03]) + rng.random() ** 2 * np.array([0.55, 0.40, 0.20])
    palette[TOP_A] = _wardrobe_colour(rng, TOP_COLOURS)
    palette[TOP_B] = _pattern_partner(rng, palette[TOP_A])
    palette[BOTTOM_A] = _wardrobe_colour(rng, BOTTOM_COLOURS)
    palette[BOTTOM_B] = _pattern_partner(rng, palette[BOTTOM_A])
    palette[SHOES] = _wardrobe_colour(rng, SHOE_COLOURS)
    palette[ITEM] = _wardrobe_colour(rng, TOP_COLOURS)
    return np.clip(palette, 0, 1)


# Share of a fabric's near-IR grey level that follows its visible brightness (dyes reflect part of
# the near-IR light roughly as they reflect visible light); the rest is the material's own.
NIR_BRIGHTNESS_SHARE = 0.75


def _nir_level(rng, rgb, low, high):
    brightness = float(rgb @ np.array([0.299, 0.587, 0.114]))
    return (1 - NIR_BRIGHTNESS_SHARE) * rng.uniform(low, high) + NIR_BRIGHTNESS_SHARE * brightness


def draw_ir_palette(rng, rgb):
    """Grey levels: never the hue; fabrics partly follow their visible brightness, partly their material."""
    levels = np.zeros(NUM_MATERIALS)
    levels[SKIN] = rng.uniform(0.8, 0.95)
    levels[EYES] = levels[SKIN] * 0.8
    levels[HAIR] = rng.uniform(0.2, 0.45)
    levels[TOP_A] = _nir_level(rng, rgb[TOP_A], 0.25, 0.75)
    levels[TOP_B] = _ir_partner(rng, levels[TOP_A])
    levels[BOTTOM_A] = _nir_level(rng, rgb[BOTTOM_A], 0.2, 0.7)
    levels[BOTTOM_B] = _ir_partner(rng, levels[BOTTOM_A])
    levels[SHOES] = _nir_level(rng, rgb[SHOES], 0.1, 0.4)
    levels[ITEM] = _nir_level(rng, rgb[ITEM], 0.15, 0.7)
    return levels[:, None]


def camera_palette(identity, camera):
    if camera.modality == "rgb":
        return identity.rgb.copy()
    palette = identity.ir.copy()
    for plain, second in ((TOP_A, TOP_B), (BOTTOM_A, BOTTOM_B)):
        palette[second] = palette[plain] + camera.pattern_contrast * (palette[second] - palette[plain])
    return palette
