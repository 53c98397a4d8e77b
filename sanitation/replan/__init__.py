"""Re-planning a day with the trucks already out (``sanitation replan``): the events of the
day (`sanitation.replan.events`), the state at ``t`` (`sanitation.replan.state`), the re-plan
of the affected stations (`sanitation.replan.solve`), the diff (`sanitation.replan.diff`) and
the command's folder-to-folder run (`sanitation.replan.run`)."""
