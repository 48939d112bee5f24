"""The static files storage of `municipium serve` and production: WhiteNoise's compressed,
content-hashed copies, made quickly enough to be made at every start of `serve`.

Brotli at its default quality (11) took most of a minute and a half on a small server for
the vendored and bundled assets (the API documentation's bundles alone are 24 MB); quality 5
compresses them in a few seconds, about a tenth larger. Source maps are read
by developer tools only and are not compressed at all.
"""

import brotli
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

BROTLI_QUALITY = 5
SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")


class QuickCompressor(Compressor):
    @staticmethod
    def compress_brotli(data):
        return brotli.compress(data, quality=BROTLI_QUALITY)


class CompressedManifestStorage(CompressedManifestStaticFilesStorage):
    def create_compressor(self, **kwargs):
        kwargs["extensions"] = kwargs.get("extensions") or SKIP_COMPRESS_EXTENSIONS
        return QuickCompressor(**kwargs)
