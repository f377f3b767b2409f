"""The dynamic support register (DOMAIN.md point 4): people with a learning disability and/or
autism at risk of admission to a mental health hospital, their ratings, keyworkers and
reviews.

So far the pure rules: who may be on the register and how a rating changes (``register``), and
when reviews and Care (Education) and Treatment Reviews are due (``reviews``). The service
around them is still to come; everything on the register will live in the shared care record,
under the DSR security label the gateway already enforces.
"""
