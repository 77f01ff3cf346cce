"""The edge: everything that reads or writes a file.

==================  ===========================================================================
``data``            the data directory and the registry of public files (pooch, sha256)
``labels``          label-set loaders: the built-ins and the JSON / CSV schemas
``predictions``     prediction loaders: .npy / .npz / .csv / .parquet, row orders, validation
``evidence``        expert files, ImageNet-X, co-occurrence sources; :class:`Options`
``files``           atomic files and output folders, JSON reading, content hashes
``images``          image folders in ImageNet layout: which files are images, in which order
``tables``          results as Arrow tables and Parquet parts
==================  ===========================================================================
"""
