#!/bin/sh
# Restore one PostgreSQL database from the backups bucket (docs/DISASTER_RECOVERY.md).
#
#   pg_restore.sh [KEY]   KEY under s3://$BACKUP_BUCKET/, default the newest
#                         postgres/$PGDATABASE/*.dump
#
# Creates $PGDATABASE if it is missing, then restores into it (objects the dump holds are
# dropped first, so it also repairs a damaged database). Environment as pg_backup.sh;
# the connecting user needs CREATEDB for a missing database.
set -eu

: "${PGDATABASE:?}" "${BACKUP_BUCKET:?}" "${BACKUP_DIR:?}"
prefix="postgres/$PGDATABASE/"
key="${1:-}"
if [ -z "$key" ]; then
    # Keys are UTC timestamps, so the newest sorts last.
    key="$(aws s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$prefix" \
        --query 'sort_by(Contents, &Key)[-1].Key' --output text)"
fi
case "$key" in
    "$prefix"*.dump) ;;
    *) echo "no backup of $PGDATABASE under s3://$BACKUP_BUCKET/$prefix (got '$key')" >&2; exit 1 ;;
esac

umask 077
dump_file="$BACKUP_DIR/restore-$PGDATABASE.dump"
aws s3 cp --only-show-errors "s3://$BACKUP_BUCKET/$key" "$dump_file"
exists="$(psql --no-password -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'")"
if [ "$exists" != "1" ]; then
    createdb --no-password "$PGDATABASE"
fi
# One transaction: a restore that fails leaves the database as it was.
pg_restore --no-password --clean --if-exists --no-owner --no-privileges --exit-on-error \
    --single-transaction --dbname="$PGDATABASE" "$dump_file"
rm -f "$dump_file"
echo "restored $PGDATABASE from s3://$BACKUP_BUCKET/$key"
