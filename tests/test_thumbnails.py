"""The numpy ray-cast thumbnails of voxel grids."""

from __future__ import annotations

import numpy as np

from explorer.thumbnails import fit_frame, render_thumbnail


def ball(size: int = 32, radius: float = 0.25, centre: float = 0.5) -> np.ndarray:
    axis = (np.arange(size) + 0.5) / size
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    distance = np.sqrt((x - centre) ** 2 + (y - centre) ** 2 + (z - centre) ** 2)
    return np.clip(0.5 + (radius - distance) * size, 0, 1).astype(np.float32)


def test_ball_is_drawn_opaque_and_lit_from_the_camera() -> None:
    image = render_thumbnail(ball(), size=64)
    assert image.shape == (64, 64, 4) and image.dtype == np.uint8
    alpha = image[..., 3]
    assert alpha[32, 32] == 255 and alpha[0, 0] == 0
    brightness = image[..., :3].astype(float).sum(axis=2)
    rim = brightness[alpha > 0].min()
    assert brightness[32, 32] > rim + 100          # the headlight makes the middle brightest
    # Fitted to the shape: the ball fills most of the picture.
    assert 0.4 < (alpha > 0).mean() < 0.9


def test_empty_grid_gives_a_transparent_picture() -> None:
    image = render_thumbnail(np.zeros((16, 16, 16), np.float32), size=24)
    assert not image[..., 3].any()


def test_common_frame_keeps_relative_sizes() -> None:
    small, large = ball(radius=0.12), ball(radius=0.3)
    frame = fit_frame(np.stack([small, large]))
    areas = [(render_thumbnail(g, size=48, frame=frame)[..., 3] > 0).sum() for g in (small, large)]
    assert areas[0] < 0.4 * areas[1]


def test_signed_distances_draw_their_low_side_as_the_inside() -> None:
    occupancy = ball(radius=0.2)
    sdf = 0.5 - occupancy                        # negative inside, zero on the same surface
    picture = render_thumbnail(sdf, 0.0, 48, inside_low=True)
    np.testing.assert_array_equal(picture, render_thumbnail(occupancy, 0.5, 48))
    assert 0.1 < (picture[..., 3] > 0).mean() < 0.9
    # A level above every outside value would fill the cube, but not beyond it.
    everything = render_thumbnail(sdf, 0.6, 48, inside_low=True)
    assert everything[0, 0, 3] == 0 and everything[24, 24, 3] == 255
    centre, radius = fit_frame(sdf[None], 0.0, inside_low=True)
    expected_centre, expected_radius = fit_frame(occupancy[None], 0.5)
    np.testing.assert_allclose(centre, expected_centre)
    assert radius == expected_radius
