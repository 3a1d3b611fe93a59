"""Fall detection offline: the public dataset reader, evaluation protocols, scoring, model fitting, bench."""
