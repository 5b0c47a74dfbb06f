"""The MNIST command line on synthetic digits, for tests that start it under mpiexec:
`python tests/mnist_cli_program.py train ...`. With INTERRUPT_AT=EPOCH,BATCH set, rank 0
presses Ctrl-C after that batch: it sends SIGINT to mpiexec, which forwards it to every rank.
"""

import os
import signal
import sys
from pathlib import Path

from test_mnist_cli import synthetic

from models.mnist_rnn import cli, training


def mpiexec_pid() -> int:
    """mpiexec is the parent of this rank's parent (hydra's proxy)."""
    proxy = os.getppid()
    launcher = int(Path(f"/proc/{proxy}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert "mpiexec" in Path(f"/proc/{launcher}/comm").read_text()
    return launcher


def press_ctrl_c_at(epoch: int, batch: int):
    def on_batch(at_epoch, at_batch):
        if (at_epoch, at_batch) == (epoch, batch) and os.environ.get("PMI_RANK") == "0":
            os.kill(mpiexec_pid(), signal.SIGINT)

    return on_batch


if __name__ == "__main__":
    training.load_dataset = cli.load_dataset = lambda name, split: synthetic(split)
    if "INTERRUPT_AT" in os.environ:
        on_batch = press_ctrl_c_at(*map(int, os.environ["INTERRUPT_AT"].split(",")))
        original_train = training.train
        cli.train = lambda config: original_train(config, on_batch)
    sys.exit(cli.main(sys.argv[1:]))
