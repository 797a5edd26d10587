"""The flows' repositories over the metadata store: runs, schedules, leases.

They implement the interfaces of ``flowservice.flows`` (``RunRepository``,
``ScheduleRepository``, ``LeaseStore``) with ``flowservice.store``, so imports
keep pointing one way: flows → store.
"""
