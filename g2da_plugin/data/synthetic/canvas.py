"""The canvas: a label map and a shading map that shapes (capsules, trapezoids, the head) are painted on."""

import math

import numpy as np

from .materials import HAIR, ITEM, SKIN


class Canvas:
    """A label map plus a shading map, painted shape by shape (later shapes cover earlier ones).

    Each shape only computes over the window of pixels its bounding box can touch.
    """

    def __init__(self, height, width):
        self.labels = np.zeros((height, width), np.uint8)
        self.shade = np.ones((height, width), np.float32)
        self.xs = np.arange(width) + 0.5    # pixel centres
        self.ys = np.arange(height) + 0.5

    def _window(self, left, right, top, bottom):
        """Row and column slices of the pixels whose centres can lie in the box, and those centres."""
        height, width = self.labels.shape
        rows = slice(max(0, math.floor(top)), min(height, math.ceil(bottom) + 1))
        cols = slice(max(0, math.floor(left)), min(width, math.ceil(right) + 1))
        return (rows, cols), self.xs[cols][None, :], self.ys[rows][:, None]

    def _paint(self, window, mask, material, shade):
        """``mask`` and ``shade`` cover the window; ``material`` is one label or one per pixel."""
        labels = self.labels[window]
        labels[mask] = material if np.isscalar(material) else material[mask]
        self.shade[window][mask] = shade[mask]

    def capsule(self, start, end, radius, material):
        """A thick segment with round ends, shaded like a cylinder."""
        (x0, y0), (x1, y1) = start[:2], end[:2]
        window, x, y = self._window(min(x0, x1) - radius, max(x0, x1) + radius,
                                    min(y0, y1) - radius, max(y0, y1) + radius)
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
        distance = np.hypot(x - x0 - t * dx, y - y0 - t * dy)
        self._paint(window, distance <= radius, material, 1 - 0.35 * (distance / radius) ** 2)

    def trapezoid(self, top_y, bottom_y, top_centre, top_half, bottom_centre, bottom_half, material):
        """Horizontal top and bottom edges; sides interpolate linearly (rectangles too)."""
        window, x, y = self._window(min(top_centre - top_half, bottom_centre - bottom_half),
                                    max(top_centre + top_half, bottom_centre + bottom_half), top_y, bottom_y)
        t = (y - top_y) / (bottom_y - top_y)
        offset = (x - (top_centre + t * (bottom_centre - top_centre))) / (top_half + t * (bottom_half - top_half))
        self._paint(window, (t >= 0) & (t <= 1) & (np.abs(offset) <= 1), material, 1 - 0.3 * offset ** 2)

    def head(self, centre, radii, pose, identity):
        """Ray-cast the head ellipsoid: each pixel shows skin, hair or hat by where it hits the head."""
        a, b, c = radii
        reach = max(a, c)
        window, x, y = self._window(centre[0] - reach, centre[0] + reach, centre[1] - b, centre[1] + b)
        cos_yaw, sin_yaw = math.cos(pose.yaw), math.sin(pose.yaw)
        u, v = x - centre[0], y - centre[1]
        qa = sin_yaw ** 2 / a ** 2 + cos_yaw ** 2 / c ** 2
        qb = 2 * u * cos_yaw * sin_yaw * (1 / a ** 2 - 1 / c ** 2)
        qc = u ** 2 * (cos_yaw ** 2 / a ** 2 + sin_yaw ** 2 / c ** 2) + (v / b) ** 2 - 1
        discriminant = qb ** 2 - 4 * qa * qc
        z = (-qb - np.sqrt(np.maximum(discriminant, 0))) / (2 * qa)   # the nearer hit
        lateral = (u * cos_yaw + z * sin_yaw) / a
        forward = (u * sin_yaw - z * cos_yaw) / c
        vertical = v / b
        hair = (vertical < identity.hairline) | ((forward < -0.25) & (vertical < identity.hair_length))
        material = np.where(hair, HAIR, SKIN)
        if identity.item == "hat":
            material = np.where(vertical < -0.35, ITEM, material)
        facing = lateral * -sin_yaw + forward * cos_yaw   # the surface normal's component towards the camera
        self._paint(window, discriminant >= 0, material, 0.6 + 0.4 * np.clip(facing, 0, 1))

    def dot(self, point, material):
        x, y = math.floor(point[0]), math.floor(point[1])
        if 0 <= y < self.labels.shape[0] and 0 <= x < self.labels.shape[1]:
            self.labels[y, x] = material
