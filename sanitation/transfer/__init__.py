"""The transfer leg (县外运): hook-lift trucks carry full containers from stations to disposal.

A station's day load (kg) leaves in containers of ``container_kg``; each container is one trip
``station → disposal site → station`` (the truck hooks the full container, unloads it at the
site's gate, and brings the empty container back). Two steps:

1. **Where each container goes**: CP-SAT chooses, per station, stream and site, how many
   kilograms and trips go there, minimising gate fees (CNY/t) + trip cost (distance × CNY/km +
   time × CNY/h of a round trip), within each site's room today (its daily capacity over all
   its streams, less what collection trucks unloaded there). With sorted streams a station's
   load is split by stream and each stream goes only to its `TransferProblem.destinations`
   (the facilities taking it from that station, then the disposal sites accepting it), as much
   as their room allows to the facilities (a first solve minimises the kg sent past them); a
   facility whose collection-truck unloads exceed its capacity is a source too (a
   `TransferStation` with ``facility`` set), sending its excess on the same way. A container
   holds one stream, so a trip never mixes streams, while one truck may make trips of
   different streams in a day. A source's stream with nowhere to go, or more of a stream than
   its destinations can take, is infeasible (named). A county that does not sort has the one
   stream ``""``, which every site takes, and no facilities.
2. **Which truck makes which trip, when**: list scheduling. Trips are taken longest first; each
   goes to the truck (its own station's trucks first, a facility's its home station's, then
   any) that can finish it earliest,
   within the truck's shift, maximum duration and the site's gate hours; a truck whose day reaches
   past the latest lunch start takes its lunch between trips, inside the lunch window (a truck back
   at its depot before then needs none); the break is taken where the truck stands, and it moves
   on after it. A truck whose first trip cannot end by the latest lunch start begins its day with
   the break (departure = break start; trips are not split by a break). Trips no truck can make
   are reported with a reason: every truck able to make the trip has its day full, or no truck
   could make it even on a day of its own.

The result passes `sanitation.verify.transfer` like the collection routes pass theirs.
Integers inside: kg, s, m; money CNY.
"""

from sanitation.transfer.problem import (
    DisposalSite,
    TransferProblem,
    TransferSolution,
    TransferStation,
    TransferTruck,
    Trip,
    TruckDay,
    UnmovedLoad,
    truck_day_cost,
)
from sanitation.transfer.solve import solve, split_to_sites

__all__ = [
    "DisposalSite",
    "TransferProblem",
    "TransferSolution",
    "TransferStation",
    "TransferTruck",
    "Trip",
    "TruckDay",
    "UnmovedLoad",
    "solve",
    "split_to_sites",
    "truck_day_cost",
]
