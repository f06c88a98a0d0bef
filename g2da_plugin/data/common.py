"""The dataset object that feeds FastReID's loaders with cross-modality samples."""

from fastreid.data.common import CommDataset
from fastreid.data.data_utils import read_image


class CrossModalityDataset(CommDataset):
    """FastReID's ``CommDataset`` over ``(img_path, pid, camid, modality)`` items.

    Each sample adds ``modalities`` to FastReID's dict. IR images are read as 3-channel RGB (the
    gray value repeated), so both streams take 3 channels.
    """

    def __getitem__(self, index):
        img_path, pid, camid, modality = self.img_items[index]
        try:
            img = read_image(img_path, "RGB")
        except (OSError, ValueError) as e:
            raise OSError(f"cannot read image {img_path}: {e}") from None
        if self.transform is not None:
            img = self.transform(img)
        if self.relabel:
            pid = self.pid_dict[pid]
            camid = self.cam_dict[camid]
        return {
            "images": img,
            "targets": pid,
            "camids": camid,
            "modalities": modality,
            "img_paths": img_path,
        }
