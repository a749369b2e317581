#!/bin/sh
# Create the Lens system users and the operators' group if missing.
# Run as root by `make install` and before the regress suite.
set -e
getent group lens >/dev/null || groupadd --system lens
for u in _lensvmm _lensnet _lenscred _lensaudit; do
	getent passwd "$u" >/dev/null && continue
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --user-group "$u"
done
# lensvmm's fetch process (image pulls) and the owner of its image store
getent passwd _lensfetch >/dev/null || useradd --system --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin --user-group _lensfetch
# lensvmm's image child (unpacks layers into the layer cache)
getent passwd _lensimg >/dev/null || useradd --system --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin --user-group _lensimg
