"""A character-level language model trained with stateful truncated BPTT over a long text,
and sampled one character at a time.

python -m models.char_rnn train --model lstm --hidden 256
python -m models.char_rnn sample --prime "ROMEO:" --length 500 --temperature 0.8
"""

from .corpus import Vocabulary, load_text, shakespeare
from .networks import KINDS, CharRNN

__all__ = ["KINDS", "CharRNN", "Vocabulary", "load_text", "shakespeare"]
