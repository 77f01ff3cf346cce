"""The pure core: arrays in, arrays out. Nothing here reads a file.

==================  ===========================================================================
``sparse``          CSR label lists (membership, unions, subsets) — no dense (n, 1000) matrix
``names``           file names → images, vectorised; alignment once per distinct name list
``labelset``        :class:`LabelSet`, the one type of ground truth
``evidence``        :class:`Taxonomy`, co-occurrence, non-prototypical evidence, :class:`Context`
``stages``          the error stages and their reasons
``categories``      the category registry (one record per category)
``pipeline``        :func:`classify`: categories and evidence for a stack of models
``metrics``         accuracies and intervals as numpy functions
``scoring``         the one scoring core: tallies and every figure derived from them
==================  ===========================================================================
"""
