"""Thin DVC entry points, one module per stage: parse the paths ``dvc.yaml`` passes, read,
make one call into the layers below, write, report. Nothing imports a stage."""
