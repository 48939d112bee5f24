"""Choosing a site for a shared facility (a landfill, a wastewater plant): the maths, with no
Django models. Pure numpy/scipy/shapely/pyproj/rasterio.

- `ahp`: pairwise comparisons on Saaty's 1-9 scale, principal-eigenvector weights,
  consistency ratio and the judgements most responsible, group AHP by geometric mean.
- `grid`: the study area as a metric grid (UTM zone chosen with pyproj), constraints as
  buffered vectors rasterised into a Boolean mask, distance rasters, slope, fuzzy
  standardisation, WLC/OWA aggregation, suitability classes, candidate patches.
- `rank`: required area of a landfill, TOPSIS, sensitivity of the ranking to the weights.
"""
