"""The nine stagnation rules of the Opschalingsmodel, evaluated over facts loaded in bulk.

The package: ``facts`` (:func:`load_facts`) and ``evaluators`` (:func:`evaluate`).

:func:`load_facts` reads everything the rules need in a fixed number of set-based
statements (ids, dates, counts and flags — never a text), indexed by household; each
evaluator then walks the households in an overleg's scope in memory and returns its
:class:`Firing` rows. No evaluator queries the database, so the scan's cost does not grow
in statements with the number of families.

Gaming does not reset a counter, because the rules read *lines of work*, not single
actions (the scan keeps the line state, see ``escalation.scan``):

- an action re-created for the same goal and owner with a similar text continues the line
  of the action it replaces: its due date, pushes and "since" carry over (which action it
  re-creates is judged by the plan operation that writes it: ``continues_action_id``);
- a pushed due date still counts from the first due date the scan saw (and every push,
  including a re-creation, adds to the push count, which ``due_changes`` never resets);
- an action marked "gereed" whose completion note does not cover its "klaar als"
  criterion (``criterion_met`` is false, judged when the note was written) stays open for
  every rule, and is no completed action for the agenda rule. An action done before the
  flag was recorded (None) counts as done.

A firing's explanation is the rule's Dutch text with numbers (days, meetings, counts) —
never a text from the plan, a name or a pseudonym.
"""

from escalation.rules.evaluators import EVALUATORS, Context, Firing, evaluate
from escalation.rules.facts import OPEN_ACTION, Facts, Held, Line, PlanFact, load_facts

__all__ = ["EVALUATORS", "OPEN_ACTION", "Context", "Facts", "Firing", "Held", "Line", "PlanFact", "evaluate",
           "load_facts"]
