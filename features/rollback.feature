@destructive
Feature: A broken release rolls back
  When a release cannot be deployed, CodeDeploy puts the previous version back on its own, the pipeline
  stops at Deploy, and users never see the broken version.

  Background:
    Given the demo app is live behind the load balancer

  @slow
  Scenario Outline: <how it breaks> rolls back to the previous version
    Given we watch the load balancer
    When we force a failed deployment by <how>
    Then the deployment ends <outcome>
    And a rollback deployment, linked to it, puts the previous version back
    And the pipeline execution failed at the "Deploy" stage
    And every instance behind the load balancer serves the previous version
    And the previous version was served throughout

    Examples:
      | how it breaks                     | how                | outcome |
      | A release whose health check fails | bad-revision      | Failed  |
      | A deployment stopped mid-way       | stop-deployment   | Stopped |
