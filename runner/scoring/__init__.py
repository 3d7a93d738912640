"""Scoring answers: the built-in scorers, Python scorers' inputs, and judge prompts and verdicts.

Pure: no network and no event loop, so the run layer scores results as they arrive and
analysis or a notebook can score a stored run with the same code. Sits above `results` (it
makes `ScoreRow`s) and `config` (it reads `Scorer`s and `Case`s).
"""

from __future__ import annotations

from runner.scoring.inputs import Score, ScoreInput, ToolCall

__all__ = ["Score", "ScoreInput", "ToolCall"]
