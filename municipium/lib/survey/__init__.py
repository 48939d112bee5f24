"""Survey statistics for user-satisfaction surveys: sampling, weighting, estimates, tests.

Pure functions over plain sequences and numpy arrays, no Django. Every result is a small
frozen dataclass that carries the numbers and the intermediate steps (`Step` records with
stable keys) so that the survey pages can explain each result to a coordinator who is not a
statistician; the wording and its translation live in the app, not here.

- `sample`: how many people to ask, and drawing them from a frame with inclusion
  probabilities.
- `weights`: design weights, nonresponse adjustment, raking to population margins, trimming,
  Kish design effect.
- `estimates`: weighted means, proportions and totals with design-based standard errors
  (matching R's `survey` package), satisfaction shares and indices, Wilson intervals,
  comparisons, multiple-comparison corrections and importance–satisfaction gaps.
"""

from municipium.lib.survey.common import Step

__all__ = ["Step"]
