"""The maths of social-service planning, pure numpy/scipy/pyproj (imports no app):

- `need`: need from target populations and norms, gap, coverage, utilisation, flags, the
  roll-up to a district with the "too small for one municipality" rule;
- `projection`: target populations carried to a planning year (constant rates, or a simple
  cohort-component projection whose assumptions are stated in its docstring);
- `catchment`: two-step floating catchment (2SFCA, Luo & Wang 2003) and its enhanced variant
  with distance decay (E2SFCA, Luo & Qi 2009), on projected straight-line distances or a
  travel-time matrix;
- `quotas`: places of a shared service split in proportion to need (largest remainders).
"""
