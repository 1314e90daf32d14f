Feature: Teardown leaves nothing behind
  Everything a run creates (pipeline, repository, deployment group, load balancer, target group,
  auto scaling groups, instances, processes, ports) is removed, and a listing proves it.

  @sandbox-only
  Scenario: After a release, teardown removes every resource, process and port the run created
    Given the demo app is live behind the load balancer
    When we push a version bump of the demo app
    And we approve the release of our commit
    Then the deployment succeeds
    When we tear down the stack
    Then no resource of the run is left
    And no process or port of the run is left
