"""dnabench.torch_models on candle's checkpoints: the same outputs to 1e-4."""

import pytest
import torch

from conftest import run
from dnabench import torch_models

# Small sizes, a few steps: the weights are trained, not just initialized.
CONFIGS = {
    # The paper's shape: strided "same" convolutions, an FC layer, the MLP head.
    "cnn": (
        "promoter",
        [],
        "[model]\nchannels = [16, 8]\nkernels = [9, 5]\nstrides = [1, 4]\npool_kernel = 5\npool_stride = 4\n"
        "fc = 12\nhead_hidden = 10\n",
    ),
    "cnn_global": (
        "promoter",
        [],
        "[model]\nchannels = [16]\nkernels = [15]\nstrides = [1]\npadding = \"valid\"\npool_kernel = 1\npool_stride = 1\n"
        "global_pool = true\nfc = 0\nhead = \"linear\"\n",
    ),
    "cnn_lstm": (
        "promoter",
        [],
        "[model]\nchannels = 8\nkernel = 9\npool_kernel = 13\npool_stride = 13\nlstm_hidden = 6\nfc = 8\n",
    ),
    "transformer_rotary": (
        "promoter",
        ["--pos", "rotary"],
        "[model]\nhidden = 16\nlayers = 2\nheads = 2\nffn = 32\nhead_hidden = 12\n",
    ),
    # Table 6.2's one-hot Transformer: a kernel-25 convolution and a pool of 4.
    "transformer_one_hot": (
        "promoter",
        ["--tokenizer", "one_hot"],
        "[model]\nhidden = 16\nlayers = 1\nheads = 2\nffn = 32\nhead_hidden = 12\nreadout = \"mean\"\n",
    ),
    "transformer_relative": (
        "causal_snp",
        ["--pos", "relative"],
        "[model]\nhidden = 16\nlayers = 1\nheads = 2\nffn = 32\nmax_distance = 8\nreadout = \"mean\"\nhead = \"linear\"\n",
    ),
    "transformer_absolute": (
        "promoter",
        ["--pos", "absolute"],
        "[model]\nhidden = 16\nlayers = 1\nheads = 4\nffn = 16\n",
    ),
}


@pytest.fixture(scope="module")
def runs(store_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("configs")
    made = {}
    for name, (task, args, sizes) in CONFIGS.items():
        config = folder / f"{name}.toml"
        config.write_text("[train]\nepochs = 1\nbatch_size = 16\nmax_batches = 3\n" + sizes)
        model = name.split("_")[0] if name.startswith(("cnn_global", "transformer")) else name
        run(
            "train", "--task", task, "--model", model, "--config", str(config),
            "--run-id", f"torch-{name}", "--store", str(store_path), *args,
        )
        made[name] = f"torch-{name}"
    return made


def random_input(model, rows: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    cfg = model.cfg
    if isinstance(model, torch_models.Transformer) and cfg.get("one_hot_conv"):
        return torch.rand(rows, 4, 4 * cfg["max_tokens"], generator=generator)
    if isinstance(model, torch_models.Transformer):
        ids = torch.randint(4, cfg["vocab"], (rows, cfg["max_tokens"]), generator=generator)
        ids[1, -5:] = 0  # padding, as a short window has
        return ids
    # Not one-hot: random values exercise every weight of the first layer.
    return torch.rand(rows, 4, cfg["length"], generator=generator)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_pytorch_outputs_equal_candles_on_the_same_checkpoint(store, store_path, runs, name):
    model = torch_models.load_run(store_path, runs[name])
    assert not model.training
    x = random_input(model, rows=5)
    with torch.no_grad():
        ours = model(x)
    theirs = store.forward(runs[name], x)
    assert ours.shape == theirs.shape == (5, model.cfg["outputs"])
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=0), (ours - theirs).abs().max()


def test_a_checkpoint_of_other_sizes_is_refused(store_path, runs):
    cfg = dict(torch_models.load_run(store_path, runs["cnn"]).cfg)
    cfg["channels"] = [32, 8]
    with pytest.raises(ValueError, match=r"conv0\.(weight|bias) has shape"):
        torch_models.load_checkpoint(
            torch_models.from_config(cfg), store_path / "runs" / runs["cnn"] / "model.safetensors"
        )
    with pytest.raises(FileNotFoundError, match="no-such-run"):
        torch_models.load_run(store_path, "no-such-run")
