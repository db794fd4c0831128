"""Commands for people, above the stages: ``classify`` any articles, ``annotate`` gold with
Label Studio, ``report`` the notebooks."""
