import numpy as np

from zeroshot_news.decisions import margin_decision


def test_argmax_without_margins():
    scores = np.array([[0.5, 0.2, 0.3], [0.2, 0.5, 0.3], [0.3, 0.2, 0.5]])
    assert margin_decision(scores, 0.0).tolist() == [0, 1, 2]


def test_a_side_close_to_the_other_side_is_neutral():
    scores = np.array([[0.41, 0.39, 0.20], [0.60, 0.20, 0.20]])
    assert margin_decision(scores, 0.05).tolist() == [2, 0]


def test_a_side_must_lead_neutral_by_its_own_lead():
    scores = np.array([[0.40, 0.25, 0.35],   # favor leads neutral by 0.05
                       [0.25, 0.40, 0.35],   # against leads neutral by 0.05
                       [0.60, 0.10, 0.30]])  # favor leads neutral by 0.30
    # Only favor needs a lead: the weak favor call becomes neutral (not against), the others stay.
    assert margin_decision(scores, 0.0, lead=(0.25, 0.0)).tolist() == [2, 1, 0]
    assert margin_decision(scores, 0.0, lead=(0.0, 0.1)).tolist() == [0, 2, 0]
    assert margin_decision(scores, 0.0, lead=(0.0, 0.0)).tolist() == [0, 1, 0]
