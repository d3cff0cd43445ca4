"""The monthly computations: per-user features, vocabulary, the model, drift, histograms, the error estimate."""
