"""nbgrader configuration: this repository is the course directory.

`nbgrader generate_assignment m07_alliance_and_the_spectrum` (run here) reads the source
assignment from exercises/ and writes release/; submissions go to submitted/, grades to
gradebook.db. Those folders and the gradebook are generated and ignored by git.
"""

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "empathic-dialectic"
c.CourseDirectory.source_directory = "exercises"
# The student's answer file travels with the notebook; keep generous but finite limits.
c.CourseDirectory.max_file_size = 5000  # kilobytes per file copied from a submission

# A notebook runs once in a fresh kernel at autograde; widgets are rebuilt from responses.json.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
# Keep runaway output from flooding the gradebook and the feedback.
c.LimitOutput.max_lines = 500
c.LimitOutput.max_traceback = 60

# Feedback: no hidden tests, no assessment keys by default, "awaiting hand grading" instead
# of a 0 nobody gave (grader/feedback.py). nbgrader adds its own template folder to these.
from grader import feedback as _feedback  # noqa: E402

c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.feedback.FeedbackPolicy",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.FeedbackPolicy.show = "scores"  # "full" shows item rationales (assessment keys) in feedback
c.HTMLExporter.template_name = _feedback.TEMPLATE_NAME
c.HTMLExporter.template_file = _feedback.TEMPLATE_FILE
c.HTMLExporter.extra_template_basedirs = [
    str(_feedback.TEMPLATES),
    str(
        __import__("pathlib").Path(__import__("nbgrader").__file__).parent
        / "server_extensions"
        / "formgrader"
        / "templates"
    ),
]
