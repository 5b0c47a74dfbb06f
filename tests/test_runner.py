"""`python -m tinygrad_rnn.run SCRIPT ARGS` runs unmodified PyTorch programs as `python SCRIPT
ARGS` would: torch resolved to tinygrad_rnn, __main__, argv, exit codes, tracebacks, and one
line for each part that is not supported. Every program runs in its own process."""

import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

TRAINING = """
    import argparse

    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.utils.data import DataLoader, TensorDataset


    class Classifier(nn.Module):
        def __init__(self, hidden):
            super().__init__()
            self.rnn = nn.RNN(3, hidden, batch_first=True)
            self.out = nn.Linear(hidden, 2)

        def forward(self, x):
            _, h = self.rnn(x)
            return F.log_softmax(self.out(h[-1]), dim=1)


    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--steps", type=int, default=1)
        parser.add_argument("--lr", type=float, default=0.1)
        args = parser.parse_args()
        torch.manual_seed(0)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model = Classifier(4).to(device)
        with torch.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) * (i + 1) / 4)
        x = torch.linspace(-1, 1, 8 * 5 * 3).reshape(8, 5, 3)
        y = torch.tensor([0, 1] * 4)
        loader = DataLoader(TensorDataset(x, y), batch_size=4)
        optimizer = optim.SGD(model.parameters(), lr=args.lr)
        for _ in range(args.steps):
            for xb, yb in loader:
                loss = F.nll_loss(model(xb.to(device)), yb.to(device))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                print(f"loss {loss.item():.6f}")


    if __name__ == "__main__":
        main()
"""


def write(tmp_path, source: str, name: str = "program.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def run(path, *args, runner=True, **options) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tinygrad_rnn.run"] if runner else [sys.executable]
    return subprocess.run(
        [*command, path.name, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=path.parent,
        **options,
    )


def test_a_training_program_runs_with_its_arguments_and_matches_pytorch(tmp_path):
    path = write(tmp_path, TRAINING)
    ours = run(path, "--steps", "2", "--lr", "0.5")
    assert ours.returncode == 0, ours.stderr
    losses = [float(line.split()[1]) for line in ours.stdout.splitlines()]
    assert len(losses) == 4 and losses[-1] < losses[0]
    pytest.importorskip("torch")
    theirs = run(path, "--steps", "2", "--lr", "0.5", runner=False)
    assert theirs.returncode == 0, theirs.stderr
    expected = [float(line.split()[1]) for line in theirs.stdout.splitlines()]
    assert losses == pytest.approx(expected, rel=1e-5)


def test_main_argv_path_and_exit_codes_are_pythons(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 42\n")
    path = write(
        tmp_path,
        """
        import sys
        import helper  # beside the script: its folder is first on sys.path
        print(__name__, sys.argv, helper.VALUE, __file__)
        sys.exit(int(sys.argv[1]) if sys.argv[1].isdigit() else sys.argv[1])
        """,
    )
    done = run(path, "3", "--flag")
    assert done.returncode == 3
    assert done.stdout.split()[:5] == ["__main__", "['program.py',", "'3',", "'--flag']", "42"]
    assert done.stdout.split()[5] == str(path)
    message = run(path, "bye")
    assert message.returncode == 1 and message.stderr == "bye\n"


def test_tracebacks_start_in_the_program(tmp_path):
    path = write(tmp_path, "def fail():\n    raise KeyError('missing')\n\nfail()\n")
    ours, theirs = run(path), run(path, runner=False)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr == theirs.stderr
    broken = write(tmp_path, "x = (\n", "broken.py")
    ours, theirs = run(broken), run(broken, runner=False)
    assert ours.returncode == theirs.returncode == 1 and ours.stderr == theirs.stderr


def test_ctrl_c_ends_the_program_as_python_does(tmp_path):
    path = write(tmp_path, "import time\nprint('ready', flush=True)\ntime.sleep(30)\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_rnn.run", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGINT and stderr.endswith("KeyboardInterrupt\n")


@pytest.mark.parametrize(
    ("source", "line", "says"),
    [
        ("import torch\nimport torchvision\n", 2, "torchvision is not supported"),
        (
            "import torch\nfrom torchvision import datasets, transforms\n",
            2,
            "tinygrad_rnn.data.MNIST",
        ),
        (
            "import torch\nimport torch.onnx\nprint('imported')\ntorch.onnx.export(None, 'm')\n",
            4,
            "torch.onnx.export is not supported",
        ),
        (
            "import torch.nn as nn\n\nclass Model(nn.Transformer):\n    pass\n\nprint('defined')\n"
            "Model(d_model=8)\n",
            7,
            "torch.nn.Transformer is not supported by tinygrad_rnn: build attention",
        ),
    ],
    ids=["torchvision", "from torchvision", "torch.onnx at use", "nn.Transformer at use"],
)
def test_unsupported_parts_fail_with_one_line(tmp_path, source, line, says):
    done = run(write(tmp_path, source))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"program.py:{line}: ")
    assert says in done.stderr


def test_names_programs_mention_exist_and_unused_imports_pass(tmp_path):
    path = write(
        tmp_path,
        """
        import io
        import torch
        import torch.nn as nn
        import torch.onnx
        import torch.backends.cudnn as cudnn
        from torch.nn.modules.rnn import LSTM
        from torch.utils.data.dataloader import default_collate
        try:
            import torchvision
        except ImportError:
            torchvision = None

        torch.cuda.manual_seed_all(0)
        cudnn.benchmark, cudnn.deterministic = True, True
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)


        @torch.jit.script
        def scaled(x):
            return x * 2


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = LSTM(2, 3)


        net = Net()
        buffer = io.BytesIO()
        torch.save(net, buffer)
        buffer.seek(0)
        with torch.serialization.safe_globals([Net, nn.modules.rnn.LSTM]):
            loaded = torch.load(buffer)
        print(
            torchvision, torch.cuda.is_available() in (True, False), torch.get_num_threads(),
            type(loaded).__name__, scaled(torch.ones(1)).item(), torch.__version__[:2],
            default_collate([1, 2]).dtype == torch.long, torch.ones(1).is_cuda,
            hasattr(torch, "no_such_function"), torch.accelerator.device_count() >= 0,
        )
        """,
    )
    done = run(path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "True", "1", "Net", "2.0", "2.", "True"] + [
        "False",
        "False",
        "True",
    ]


def test_the_console_script(tmp_path):
    command = shutil.which("tinygrad-rnn")
    if command is None:
        pytest.skip("the package is not installed with its console script")
    path = write(
        tmp_path, "import sys, torch\nprint(torch.tensor([1, 2]).sum().item(), sys.argv[1:])\n"
    )
    done = subprocess.run([command, str(path), "-x"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "3 ['-x']\n"
    usage = subprocess.run([command], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "usage" in usage.stderr
