"""Social-service planning: needs of target groups against capacity, per municipality and across them."""
