"""nnbook.checkpoint: a failed load changes nothing, and bad paths get clear errors."""

import pytest
import torch

from nnbook import checkpoint


def test_a_failed_load_leaves_the_model_as_it_was(tmp_path):
    torch.manual_seed(0)
    saved = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 4))
    path = checkpoint.save(saved, tmp_path / "net.pt")
    # the first layer fits, the second does not
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(checkpoint.CheckpointError, match=r"different shapes: 1\.weight"):
        checkpoint.load(model, path)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_missing_and_unexpected_keys_are_named(tmp_path):
    path = checkpoint.save(torch.nn.Linear(2, 3), tmp_path / "lin.pt")
    with pytest.raises(checkpoint.CheckpointError, match=r"missing keys 0\.weight"):
        checkpoint.load(torch.nn.Sequential(torch.nn.Linear(2, 3)), path)
    with pytest.raises(checkpoint.CheckpointError, match=r"unexpected keys bias"):
        checkpoint.load(torch.nn.Linear(2, 3, bias=False), path)


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        (None, TypeError, r"path must be a file name \(str or Path\), got NoneType"),
        (3, TypeError, r"path must be a file name \(str or Path\), got int"),
    ],
)
def test_save_rejects_what_is_not_a_path(path, error, message):
    with pytest.raises(error, match=message):
        checkpoint.save(torch.nn.Linear(2, 3), path)


def test_save_rejects_a_directory_and_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"path must be a file name, got the directory"):
        checkpoint.save(torch.nn.Linear(2, 3), tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no directory .* to save into"):
        checkpoint.save(torch.nn.Linear(2, 3), tmp_path / "no" / "such" / "net.pt")


def test_save_leaves_no_partial_file(tmp_path):
    checkpoint.save(torch.nn.Linear(2, 3), tmp_path / "lin.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lin.pt"]
