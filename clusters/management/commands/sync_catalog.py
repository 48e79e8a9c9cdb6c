"""`manage.py sync_catalog`: refresh instance types (and prices) from EC2 and the Pricing API."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clusters import catalog


class Command(BaseCommand):
    help = (
        "Refresh the instance-type catalog from EC2 for every offered region (or those given). "
        "With --offline, load the shipped price table only, with no AWS call."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", action="append", dest="regions",
                            help="A region to sync (repeatable). Default: every offered region.")
        parser.add_argument("--offline", action="store_true",
                            help="Fill the catalog from clusters/data/prices.csv only.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["offline"]:
            count = catalog.load_price_table()
            self.stdout.write(f"Loaded {count} instance types from the shipped price table.")
            return
        regions = options["regions"] or catalog.offered_regions()
        for region in regions:
            try:
                count = catalog.sync_instance_types(region)
            except (BotoCoreError, ClientError) as error:
                raise CommandError(
                    f"Could not read the instance types of {region}: {error}"
                ) from error
            self.stdout.write(f"{region}: {count} instance types offered.")
